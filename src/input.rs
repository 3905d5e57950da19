//! TODO: input
