//! TODO: errno
