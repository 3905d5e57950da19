//! The stable topic vocabulary (shared/kb-topics.md). Tests, evaluation sets and case
//! statistics group by these names; they are extended, never renamed.

pub const TOPICS: &[&str] = &[
    "netserver-domain-mismatch",
    "netserver-domain-too-long",
    "password-case-qpwdlvl",
    "qpwdlvl-change",
    "credentials-mismatch",
    "batch-job-profile",
    "ntlmv2-required",
    "smb-version-mismatch",
    "smb2-ptf-72",
    "smb-version-pin",
    "server-not-listed",
    "server-dirs-lost-after-ipl",
    "servers-listed-not-accessible",
    "browse-slow",
    "server-name-format",
    "path-length-limits",
    "chgatr-unsupported",
    "authority-commands-unsupported",
    "chmod-ignored",
    "links-unsupported",
    "save-restore-unsupported",
    "exit-program",
    "smb-signing",
    "nas-samba-target",
    "kerberos-sso",
    "object-not-found",
    "not-authorized",
    "server-unreachable",
    "netserver-direction",
    // Added 2026-11-30 (research/kb-review.md, "Missing knowledge").
    "smb3-encryption",
    "windows-account-state",
    "ibmi-target",
    // Added by the KB helper for CPFA09E (object in use), which no topic covered.
    "object-in-use",
];

pub fn is_known(topic: &str) -> bool {
    TOPICS.contains(&topic)
}
