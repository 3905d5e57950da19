//! TODO: discord
