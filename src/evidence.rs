//! Facts extracted from a text: message ids, error codes, NT status names, releases, commands,
//! /QNTC paths and circumstances, each with the line it came from.

#[derive(Debug, Clone, Default)]
pub struct Evidence {}
