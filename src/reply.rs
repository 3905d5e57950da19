//! TODO: reply
