//! IBM i errno values (UNIX-type APIs, QSYS/QCPFMSG) as they show up in QNTC job logs.
//!
//! Numbers and names: IBM i `errno.h` and IBM Docs "Errno Values for UNIX-Type Functions".
//! Each errno has a message CPE + number (3401 -> CPE3401) in QSYS/QCPFMSG.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno {
    pub number: u32,
    /// Symbolic names; some values have two (EAGAIN / EWOULDBLOCK).
    pub names: &'static [&'static str],
    pub meaning: &'static str,
    /// How the value tends to show up with QNTC, where we know.
    pub qntc: Option<&'static str>,
}

impl Errno {
    pub fn message_id(&self) -> String {
        format!("CPE{}", self.number)
    }
}

/// Sorted by number.
pub static TABLE: &[Errno] = &[
    Errno {
        number: 3001,
        names: &["EDOM"],
        meaning: "math function domain error",
        qntc: None,
    },
    Errno {
        number: 3002,
        names: &["ERANGE"],
        meaning: "math function range error",
        qntc: None,
    },
    Errno {
        number: 3003,
        names: &["ETRUNC"],
        meaning: "data truncated on an I/O operation",
        qntc: None,
    },
    Errno {
        number: 3004,
        names: &["ENOTOPEN"],
        meaning: "file is not open",
        qntc: None,
    },
    Errno {
        number: 3005,
        names: &["ENOTREAD"],
        meaning: "file not opened for reading",
        qntc: None,
    },
    Errno {
        number: 3006,
        names: &["EIO"],
        meaning: "input/output error (physical I/O problem or damaged object)",
        qntc: Some("possible on network I/O failures"),
    },
    Errno {
        number: 3007,
        names: &["ENODEV"],
        meaning: "no such device",
        qntc: None,
    },
    Errno {
        number: 3008,
        names: &["ERECIO"],
        meaning: "file opened for record I/O",
        qntc: None,
    },
    Errno {
        number: 3009,
        names: &["ENOTWRITE"],
        meaning: "file not opened for writing",
        qntc: None,
    },
    Errno {
        number: 3014,
        names: &["EBADNAME"],
        meaning: "object name not valid",
        qntc: Some("bad /QNTC path component"),
    },
    Errno {
        number: 3015,
        names: &["EBADMODE"],
        meaning: "open mode not valid",
        qntc: None,
    },
    Errno {
        number: 3021,
        names: &["EINVAL"],
        meaning: "an argument value is not valid, or the operation is not valid for that object",
        qntc: Some("generic IFS API error"),
    },
    Errno {
        number: 3025,
        names: &["ENOENT"],
        meaning: "no such file/path (header wording: 'no such file or library')",
        qntc: Some("path, server entry or share not found; pairs with CPFA0A9"),
    },
    Errno {
        number: 3027,
        names: &["EPERM"],
        meaning: "operation not permitted",
        qntc: None,
    },
    Errno {
        number: 3029,
        names: &["EBUSY"],
        meaning: "resource busy",
        qntc: Some("file in use on the server"),
    },
    Errno {
        number: 3401,
        names: &["EACCES"],
        meaning: "permission denied",
        qntc: Some(
            "In CPDB053 (\"error code was 3401\") the file server refused the logon: user, password or domain do not match. IBM technote ibm16217393 calls it CPE3420; by the errno numbering it is CPE3401.",
        ),
    },
    Errno {
        number: 3403,
        names: &["ENOTDIR"],
        meaning: "a path component is not a directory",
        qntc: None,
    },
    Errno {
        number: 3404,
        names: &["ENOSPC"],
        meaning: "no space available",
        qntc: Some("share/disk full on server"),
    },
    Errno {
        number: 3405,
        names: &["EXDEV"],
        meaning: "improper link (cross-file-system link)",
        qntc: Some("links into QNTC not supported"),
    },
    Errno {
        number: 3406,
        names: &["EAGAIN", "EWOULDBLOCK"],
        meaning: "operation would have suspended the process (try again)",
        qntc: None,
    },
    Errno {
        number: 3407,
        names: &["EINTR"],
        meaning: "interrupted function call",
        qntc: None,
    },
    Errno {
        number: 3408,
        names: &["EFAULT"],
        meaning: "an argument address was not valid",
        qntc: None,
    },
    Errno {
        number: 3409,
        names: &["ETIME"],
        meaning: "operation timed out",
        qntc: Some("time-out class"),
    },
    Errno {
        number: 3415,
        names: &["ENXIO"],
        meaning: "no such device or address",
        qntc: None,
    },
    Errno {
        number: 3417,
        names: &["ECLOSED"],
        meaning: "socket closed",
        qntc: None,
    },
    Errno {
        number: 3420,
        names: &["EADDRINUSE"],
        meaning: "address already in use",
        qntc: Some(
            "IBM technote ibm16217393 says CPDB053 error code 3401 \"resolves to CPE3420\"; that is a slip: 3401 is EACCES (CPE3401), 3420 is EADDRINUSE.",
        ),
    },
    Errno {
        number: 3421,
        names: &["EADDRNOTAVAIL"],
        meaning: "address not available",
        qntc: None,
    },
    Errno {
        number: 3422,
        names: &["EAFNOSUPPORT"],
        meaning: "socket address family not supported",
        qntc: None,
    },
    Errno {
        number: 3424,
        names: &["ECONNABORTED"],
        meaning: "connection ended abnormally",
        qntc: None,
    },
    Errno {
        number: 3425,
        names: &["ECONNREFUSED"],
        meaning: "remote host refused the connection",
        qntc: Some("nothing listening / blocked port (IBM DDM doc: CPE3425)"),
    },
    Errno {
        number: 3426,
        names: &["ECONNRESET"],
        meaning: "connection reset by the remote socket",
        qntc: Some("server dropped the SMB session"),
    },
    Errno {
        number: 3428,
        names: &["EHOSTDOWN"],
        meaning: "remote host not available",
        qntc: None,
    },
    Errno {
        number: 3429,
        names: &["EHOSTUNREACH"],
        meaning: "no route to the remote host",
        qntc: Some("routing/firewall"),
    },
    Errno {
        number: 3430,
        names: &["EINPROGRESS"],
        meaning: "operation in progress",
        qntc: None,
    },
    Errno {
        number: 3431,
        names: &["EISCONN"],
        meaning: "connection already established",
        qntc: None,
    },
    Errno {
        number: 3433,
        names: &["ENETDOWN"],
        meaning: "network not currently available",
        qntc: None,
    },
    Errno {
        number: 3434,
        names: &["ENETRESET"],
        meaning: "socket is connected to a host that is no longer available (header text truncated)",
        qntc: None,
    },
    Errno {
        number: 3435,
        names: &["ENETUNREACH"],
        meaning: "destination network cannot be reached",
        qntc: Some("routing"),
    },
    Errno {
        number: 3436,
        names: &["ENOBUFS"],
        meaning: "not enough buffer space",
        qntc: None,
    },
    Errno {
        number: 3438,
        names: &["ENOTCONN"],
        meaning: "operation needs a connection",
        qntc: None,
    },
    Errno {
        number: 3440,
        names: &["ENOTSUP", "EOPNOTSUPP"],
        meaning: "operation not supported",
        qntc: Some("QNTC unsupported attribute/API (technote: ENOTSUP 3440; CHGATR -> CPFA0AD)"),
    },
    Errno {
        number: 3446,
        names: &["ESOCKTNOSUPPORT"],
        meaning: "socket type not supported",
        qntc: None,
    },
    Errno {
        number: 3447,
        names: &["ETIMEDOUT"],
        meaning: "remote host did not respond within the time-out",
        qntc: Some("server down/wrong IP (IBM DDM doc: CPE3447)"),
    },
    Errno {
        number: 3448,
        names: &["EUNATCH"],
        meaning: "the protocol needed for the requested address family is not available right now",
        qntc: Some("inference: check that TCP/IP is started"),
    },
    Errno {
        number: 3450,
        names: &["EBADF"],
        meaning: "descriptor not valid",
        qntc: None,
    },
    Errno {
        number: 3452,
        names: &["EMFILE"],
        meaning: "too many open files for the process",
        qntc: None,
    },
    Errno {
        number: 3453,
        names: &["ENFILE"],
        meaning: "too many open files in the system",
        qntc: None,
    },
    Errno {
        number: 3455,
        names: &["EPIPE"],
        meaning: "broken pipe",
        qntc: None,
    },
    Errno {
        number: 3457,
        names: &["EEXIST"],
        meaning: "file exists",
        qntc: Some("target exists (use REPLACE)"),
    },
    Errno {
        number: 3459,
        names: &["EDEADLK"],
        meaning: "resource deadlock avoided",
        qntc: None,
    },
    Errno {
        number: 3460,
        names: &["ENOMEM"],
        meaning: "storage allocation failed",
        qntc: None,
    },
    Errno {
        number: 3464,
        names: &["ETERM"],
        meaning: "operation terminated",
        qntc: None,
    },
    Errno {
        number: 3468,
        names: &["EMLINK"],
        meaning: "maximum link count exceeded",
        qntc: None,
    },
    Errno {
        number: 3469,
        names: &["ESPIPE"],
        meaning: "seek not supported for object",
        qntc: None,
    },
    Errno {
        number: 3470,
        names: &["ENOSYS"],
        meaning: "function not implemented",
        qntc: None,
    },
    Errno {
        number: 3471,
        names: &["EISDIR"],
        meaning: "target is a directory",
        qntc: None,
    },
    Errno {
        number: 3472,
        names: &["EROFS"],
        meaning: "read-only file system",
        qntc: None,
    },
    Errno {
        number: 3474,
        names: &["EUNKNOWN"],
        meaning: "unknown system state",
        qntc: None,
    },
    Errno {
        number: 3484,
        names: &["EDAMAGE"],
        meaning: "damaged object encountered",
        qntc: None,
    },
    Errno {
        number: 3485,
        names: &["ELOOP"],
        meaning: "loop in symbolic links",
        qntc: Some("A loop of symbolic links; not a time-out (time-outs are 3447 and 3409)."),
    },
    Errno {
        number: 3486,
        names: &["ENAMETOOLONG"],
        meaning: "path name too long",
        qntc: Some("QNTC path limit 255 chars"),
    },
    Errno {
        number: 3487,
        names: &["ENOLCK"],
        meaning: "no locks available",
        qntc: None,
    },
    Errno {
        number: 3488,
        names: &["ENOTEMPTY"],
        meaning: "directory not empty",
        qntc: None,
    },
    Errno {
        number: 3489,
        names: &["ENOSYSRSC"],
        meaning: "system resources not available",
        qntc: None,
    },
    Errno {
        number: 3490,
        names: &["ECONVERT"],
        meaning: "conversion error",
        qntc: Some("CCSID/code-page conversion"),
    },
    Errno {
        number: 3491,
        names: &["E2BIG"],
        meaning: "argument list too long",
        qntc: None,
    },
    Errno {
        number: 3492,
        names: &["EILSEQ"],
        meaning: "conversion stopped by an invalid input character",
        qntc: Some("name/data conversion"),
    },
    Errno {
        number: 3497,
        names: &["ESOFTDAMAGE"],
        meaning: "object has soft damage",
        qntc: None,
    },
    Errno {
        number: 3498,
        names: &["ENOTENROLL"],
        meaning: "user not enrolled in system distribution directory",
        qntc: Some("QDLS-related, not QNTC"),
    },
    Errno {
        number: 3499,
        names: &["EOFFLINE"],
        meaning: "object is suspended",
        qntc: None,
    },
    Errno {
        number: 3500,
        names: &["EROOBJ"],
        meaning: "object is read-only",
        qntc: Some("PC read-only attribute on server file"),
    },
    Errno {
        number: 3506,
        names: &["ELOCKED"],
        meaning: "area being read/written is locked",
        qntc: Some("byte-range lock by another client"),
    },
    Errno {
        number: 3507,
        names: &["EFBIG"],
        meaning: "object too large",
        qntc: None,
    },
    Errno {
        number: 3511,
        names: &["EFILECVT"],
        meaning: "file ID conversion of a directory failed",
        qntc: None,
    },
    Errno {
        number: 3512,
        names: &["EBADFID"],
        meaning: "a file ID could not be assigned",
        qntc: None,
    },
    Errno {
        number: 3513,
        names: &["ESTALE"],
        meaning: "V5R4 header repeats the EBADFID comment (file ID could not be assigned); treat as file-ID/handle problem",
        qntc: None,
    },
    Errno {
        number: 3524,
        names: &["ENOTSAFE"],
        meaning: "function not allowed",
        qntc: None,
    },
    Errno {
        number: 3525,
        names: &["EOVERFLOW"],
        meaning: "object too large to process",
        qntc: None,
    },
    Errno {
        number: 3535,
        names: &["ENOTAVAIL"],
        meaning: "independent ASP not available",
        qntc: None,
    },
    Errno {
        number: 3536,
        names: &["ENOTTY"],
        meaning: "inappropriate I/O control operation",
        qntc: None,
    },
    Errno {
        number: 3540,
        names: &["EFBIG2"],
        meaning: "write or truncate past file size limit",
        qntc: None,
    },
    Errno {
        number: 3543,
        names: &["ETXTBSY"],
        meaning: "text file busy",
        qntc: None,
    },
    Errno {
        number: 3546,
        names: &["ESCANFAILURE"],
        meaning: "object marked as scan failure",
        qntc: None,
    },
];

/// Looks a value up by number (3401), message id (CPE3401) or symbolic name (EACCES).
pub fn lookup(query: &str) -> Option<&'static Errno> {
    let q = query.trim().trim_end_matches(['.', ',', ')']).to_ascii_uppercase();
    let digits = q.strip_prefix("CPE").unwrap_or(&q);
    if let Ok(n) = digits.parse::<u32>() {
        return by_number(n);
    }
    TABLE.iter().find(|e| e.names.iter().any(|name| *name == q))
}

pub fn by_number(number: u32) -> Option<&'static Errno> {
    TABLE
        .binary_search_by_key(&number, |e| e.number)
        .ok()
        .map(|i| &TABLE[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].number < w[1].number));
    }

    #[test]
    fn decodes_every_form() {
        assert_eq!(lookup("3401").map(|e| e.names[0]), Some("EACCES"));
        assert_eq!(lookup("cpe3426").map(|e| e.names[0]), Some("ECONNRESET"));
        assert_eq!(lookup("EWOULDBLOCK").map(|e| e.number), Some(3406));
        assert_eq!(lookup("3485").map(|e| e.names[0]), Some("ELOOP"));
        assert_eq!(by_number(3401).map(Errno::message_id).as_deref(), Some("CPE3401"));
        assert!(lookup("9999").is_none());
        assert!(lookup("hello").is_none());
    }
}
