//! TODO: cases
