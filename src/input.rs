//! Turns whatever arrived (chat text, an attachment, a file, stdin) into clean text: valid
//! UTF-8, LF line ends, chat formatting undone. Line numbers in evidence refer to this text.

/// Pastes larger than this are refused before any work is done. Discord attachments and job
/// logs of busy batch jobs reach a few MB; 64 MiB leaves room without letting one message
/// exhaust memory.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("the input is empty")]
    Empty,
    #[error("the input is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the input looks like binary data ({percent}% control bytes), not text")]
    Binary { percent: usize },
}

/// Clean text ready for parsing and evidence extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub text: String,
    /// Invalid UTF-8 sequences were replaced by U+FFFD.
    pub lossy: bool,
}

/// How the bytes were turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
    /// IBM EBCDIC code page 37 (US/Canada), as a job log saved on the IBM i and copied over
    /// in binary mode arrives.
    Ebcdic037,
}

/// Normalises raw bytes. Rejects empty, oversized and binary input with a clear error.
pub fn normalize(raw: &[u8]) -> Result<Normalized, InputError> {
    crate::work::add(raw.len());
    if raw.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge {
            size: raw.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let (_, (text, lossy)) = decode(raw);
    let (control, total) = control_chars(&text);
    let total = total.max(1);
    // Job logs copied from emulators carry the odd stray control byte; a file that is a fifth
    // control bytes is not a job log.
    if control * 5 > total {
        return Err(InputError::Binary {
            percent: control * 100 / total,
        });
    }
    let text = clean(&text);
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    Ok(Normalized { text, lossy })
}

type Decoded<'a> = (std::borrow::Cow<'a, str>, bool);

/// Detects the encoding: a byte-order mark for UTF-16/32 (Windows tools write one), the zero
/// bytes of BOM-less UTF-16, or the shape of EBCDIC text; everything else is UTF-8. Returns
/// the text and whether anything undecodable was replaced by U+FFFD.
pub fn decode(raw: &[u8]) -> (Encoding, Decoded<'_>) {
    use std::borrow::Cow;
    let enc = sniff(raw);
    let decoded = match enc {
        Encoding::Utf32Le => utf32(&raw[4..], u32::from_le_bytes),
        Encoding::Utf32Be => utf32(&raw[4..], u32::from_be_bytes),
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let (body, codec) = match enc {
                Encoding::Utf16Le => (raw.strip_prefix(b"\xFF\xFE").unwrap_or(raw), encoding_rs::UTF_16LE),
                _ => (raw.strip_prefix(b"\xFE\xFF").unwrap_or(raw), encoding_rs::UTF_16BE),
            };
            utf16(body, codec)
        }
        Encoding::Ebcdic037 => (Cow::Owned(ebcdic037(raw)), false),
        Encoding::Utf8 => {
            let body = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            match std::str::from_utf8(body) {
                Ok(s) => (Cow::Borrowed(s), false),
                Err(_) => (String::from_utf8_lossy(body), true),
            }
        }
    };
    (enc, decoded)
}

/// The encoding of `raw`, judged from its start (a few KB suffice): what [`decode`] uses, and
/// what lets a large input be streamed when it is UTF-8.
pub fn sniff(raw: &[u8]) -> Encoding {
    if raw.starts_with(b"\xFF\xFE\0\0") {
        Encoding::Utf32Le
    } else if raw.starts_with(b"\0\0\xFE\xFF") {
        Encoding::Utf32Be
    } else if raw.starts_with(b"\xFF\xFE") {
        Encoding::Utf16Le
    } else if raw.starts_with(b"\xFE\xFF") {
        Encoding::Utf16Be
    } else if let Some(e) = bomless_utf16(raw) {
        e
    } else if looks_like_ebcdic(raw) {
        Encoding::Ebcdic037
    } else {
        Encoding::Utf8
    }
}

/// How much of an input [`sniff`] looks at.
pub const SNIFF_BYTES: usize = 4096;

fn utf16<'a>(body: &'a [u8], enc: &'static encoding_rs::Encoding) -> Decoded<'a> {
    let (text, had_errors) = enc.decode_without_bom_handling(body);
    (text, had_errors)
}

fn utf32(body: &[u8], word: fn([u8; 4]) -> u32) -> Decoded<'_> {
    let mut lossy = !body.len().is_multiple_of(4);
    let text = body
        .chunks_exact(4)
        .map(|c| {
            let ch = char::from_u32(word([c[0], c[1], c[2], c[3]]));
            lossy |= ch.is_none();
            ch.unwrap_or('\u{FFFD}')
        })
        .collect();
    (std::borrow::Cow::Owned(text), lossy)
}

/// UTF-16 without a BOM: ASCII text has a zero in every other byte. Judged on a sample, so
/// the cost does not grow with the input.
fn bomless_utf16(raw: &[u8]) -> Option<Encoding> {
    let sample = &raw[..raw.len().min(4096) & !1];
    if sample.len() < 8 {
        return None;
    }
    let pairs = sample.len() / 2;
    let zero_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if zero_odd * 10 >= pairs * 9 && zero_even * 10 <= pairs {
        Some(Encoding::Utf16Le)
    } else if zero_even * 10 >= pairs * 9 && zero_odd * 10 <= pairs {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

/// EBCDIC text is not UTF-8, is full of 0x40 (the EBCDIC blank) and has letters and digits in
/// 0x81-0xF9 and almost no bytes below 0x40 other than its line ends. Judged on a sample.
fn looks_like_ebcdic(raw: &[u8]) -> bool {
    let sample = &raw[..raw.len().min(4096)];
    if sample.len() < 16 || std::str::from_utf8(sample).is_ok() {
        return false;
    }
    let blanks = sample.iter().filter(|&&b| b == 0x40).count();
    let alnum = sample
        .iter()
        .filter(|&&b| matches!(b, 0x81..=0x89 | 0x91..=0x99 | 0xA2..=0xA9 | 0xC1..=0xC9 | 0xD1..=0xD9 | 0xE2..=0xE9 | 0xF0..=0xF9))
        .count();
    let low = sample
        .iter()
        .filter(|&&b| b < 0x40 && !matches!(b, 0x05 | 0x0D | 0x15 | 0x25))
        .count();
    let ascii_letters = sample.iter().filter(|b| b.is_ascii_alphabetic()).count();
    blanks * 20 >= sample.len()
        && alnum * 2 >= sample.len()
        && low * 100 <= sample.len()
        && ascii_letters * 10 < sample.len()
}

/// Code page 37 to Unicode (it maps onto Latin-1, so one byte each way).
const CP037: [u8; 256] = [
    0x00, 0x01, 0x02, 0x03, 0x9C, 0x09, 0x86, 0x7F, 0x97, 0x8D, 0x8E, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12,
    0x13, 0x9D, 0x85, 0x08, 0x87, 0x18, 0x19, 0x92, 0x8F, 0x1C, 0x1D, 0x1E, 0x1F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x0A,
    0x17, 0x1B, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x05, 0x06, 0x07, 0x90, 0x91, 0x16, 0x93, 0x94, 0x95, 0x96, 0x04, 0x98,
    0x99, 0x9A, 0x9B, 0x14, 0x15, 0x9E, 0x1A, 0x20, 0xA0, 0xE2, 0xE4, 0xE0, 0xE1, 0xE3, 0xE5, 0xE7, 0xF1, 0xA2, 0x2E,
    0x3C, 0x28, 0x2B, 0x7C, 0x26, 0xE9, 0xEA, 0xEB, 0xE8, 0xED, 0xEE, 0xEF, 0xEC, 0xDF, 0x21, 0x24, 0x2A, 0x29, 0x3B,
    0xAC, 0x2D, 0x2F, 0xC2, 0xC4, 0xC0, 0xC1, 0xC3, 0xC5, 0xC7, 0xD1, 0xA6, 0x2C, 0x25, 0x5F, 0x3E, 0x3F, 0xF8, 0xC9,
    0xCA, 0xCB, 0xC8, 0xCD, 0xCE, 0xCF, 0xCC, 0x60, 0x3A, 0x23, 0x40, 0x27, 0x3D, 0x22, 0xD8, 0x61, 0x62, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0xAB, 0xBB, 0xF0, 0xFD, 0xFE, 0xB1, 0xB0, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
    0x71, 0x72, 0xAA, 0xBA, 0xE6, 0xB8, 0xC6, 0xA4, 0xB5, 0x7E, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0xA1,
    0xBF, 0xD0, 0xDD, 0xDE, 0xAE, 0x5E, 0xA3, 0xA5, 0xB7, 0xA9, 0xA7, 0xB6, 0xBC, 0xBD, 0xBE, 0x5B, 0x5D, 0xAF, 0xA8,
    0xB4, 0xD7, 0x7B, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0xAD, 0xF4, 0xF6, 0xF2, 0xF3, 0xF5, 0x7D,
    0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50, 0x51, 0x52, 0xB9, 0xFB, 0xFC, 0xF9, 0xFA, 0xFF, 0x5C, 0xF7, 0x53, 0x54,
    0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0xB2, 0xD4, 0xD6, 0xD2, 0xD3, 0xD5, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
    0x37, 0x38, 0x39, 0xB3, 0xDB, 0xDC, 0xD9, 0xDA, 0x9F,
];

fn ebcdic037(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| match b {
            // NL (0x15) decodes to U+0085; job logs mean a line end by it.
            0x15 => '\n',
            _ => char::from(CP037[usize::from(b)]),
        })
        .collect()
}

/// (Control characters and U+FFFD, all characters) in `text`: a fifth control characters
/// means binary data.
pub fn control_chars(text: &str) -> (usize, usize) {
    // ASCII without control bytes (nearly every job log) needs no per-character look.
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
    {
        return (0, text.len());
    }
    let control = text
        .chars()
        .filter(|&c| c == '\u{FFFD}' || (c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}')))
        .count();
    (control, text.chars().count())
}

fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        clean_line(line, &mut out);
    }
    out
}

/// Appends one line (without its `\n`), cleaned, and a `\n` to `out`: quote markers and a
/// trailing CR removed, a code fence turned into an empty line, control characters (but
/// tabs) and backticks dropped.
pub fn clean_line(line: &str, out: &mut String) {
    let line = strip_quote(line.strip_suffix('\r').unwrap_or(line));
    let trimmed = line.trim_start();
    // A code fence (``` or ```text on a line of its own) carries no content. It becomes an
    // empty line so that line numbers still match what the user sees in the chat.
    if trimmed.starts_with("```")
        && trimmed
            .trim_start_matches('`')
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    {
        out.push('\n');
        return;
    }
    // Tabs stay: they separate the cells of a result grid copied from Run SQL Scripts.
    // Inline backticks around ids and commands (`CPDB053`) are formatting, not content.
    if line.bytes().all(|b| b >= 0x20 && b != b'`' && b != 0x7f && b != 0xc2) {
        out.push_str(line);
    } else {
        out.extend(line.chars().filter(|&c| c != '`' && (c == '\t' || !c.is_control())));
    }
    out.push('\n');
}

/// Removes chat quote markers: "> " (Discord, Slack, mail) and "&gt; " (Slack's escaping).
fn strip_quote(line: &str) -> &str {
    let mut l = line;
    loop {
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix("&gt;") {
            l = rest.strip_prefix(' ').unwrap_or(rest);
        } else if let Some(rest) = t.strip_prefix('>').filter(|r| !r.starts_with('>')) {
            // ">>" starts a DSPJOBLOG request line and must stay.
            l = rest.strip_prefix(' ').unwrap_or(rest);
        } else {
            return l;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_chat_formatting() {
        let n = normalize(b"> ```\r\n> CPDB053  Diagnostic  30\r\n> ```\r\n").unwrap();
        assert_eq!(n.text, "\nCPDB053  Diagnostic  30\n\n");
    }

    #[test]
    fn keeps_tabs_between_cells() {
        let n = normalize(b"MESSAGE_ID\tMESSAGE_TEXT\r\nCPFA0A9\tObject not found.\r\n").unwrap();
        assert_eq!(n.text, "MESSAGE_ID\tMESSAGE_TEXT\nCPFA0A9\tObject not found.\n");
    }

    #[test]
    fn keeps_request_lines() {
        let n = normalize(b">> WRKLNK '/QNTC/srv'").unwrap();
        assert_eq!(n.text.trim_end(), ">> WRKLNK '/QNTC/srv'");
    }

    #[test]
    fn rejects_empty_binary_and_huge() {
        assert_eq!(normalize(b"  \n\t"), Err(InputError::Empty));
        assert!(matches!(
            normalize(&[0u8, 1, 2, 3, 4, 5, 6, 7]),
            Err(InputError::Binary { .. })
        ));
        let huge = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert!(matches!(normalize(&huge), Err(InputError::TooLarge { .. })));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let n = normalize(b"CPDB053 \xff error code 3401").unwrap();
        assert!(n.lossy);
        assert!(n.text.contains("3401"));
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::*;

    const LOG: &str = "CPDB053  Diagnostic  30\r\nError code 3401 for user JSMITH.\r\n";

    #[test]
    fn utf16_and_utf32_with_a_bom() {
        let expect = normalize(LOG.as_bytes()).unwrap();
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in LOG.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        let mut le32 = vec![0xFF, 0xFE, 0, 0];
        let mut be32 = vec![0, 0, 0xFE, 0xFF];
        for c in LOG.chars() {
            le32.extend_from_slice(&(c as u32).to_le_bytes());
            be32.extend_from_slice(&(c as u32).to_be_bytes());
        }
        for (name, bytes, enc) in [
            ("utf-16le", &le, Encoding::Utf16Le),
            ("utf-16be", &be, Encoding::Utf16Be),
            ("utf-32le", &le32, Encoding::Utf32Le),
            ("utf-32be", &be32, Encoding::Utf32Be),
        ] {
            assert_eq!(decode(bytes).0, enc, "{name}");
            assert_eq!(normalize(bytes).unwrap(), expect, "{name}");
        }
        // Without the BOM, UTF-16LE is recognised by its zero bytes.
        assert_eq!(normalize(&le[2..]).unwrap(), expect);
        // A UTF-8 BOM is dropped.
        let mut bom8 = b"\xEF\xBB\xBF".to_vec();
        bom8.extend_from_slice(LOG.as_bytes());
        assert_eq!(normalize(&bom8).unwrap(), expect);
    }

    #[test]
    fn ebcdic_037_job_log() {
        // "CPDB053 Error code 3401." NL "User JSMITH." in code page 37.
        let mut ebcdic: Vec<u8> = Vec::new();
        for c in
            "CPDB053  Diagnostic  30 Error code 3401 for user JSMITH.\nNetwork server FILESRV01 refused the logon.\n"
                .chars()
        {
            let b = CP037.iter().position(|&u| u32::from(u) == c as u32).unwrap() as u8;
            ebcdic.push(if c == '\n' { 0x15 } else { b });
        }
        assert_eq!(decode(&ebcdic).0, Encoding::Ebcdic037);
        let n = normalize(&ebcdic).unwrap();
        assert!(
            n.text
                .starts_with("CPDB053  Diagnostic  30 Error code 3401 for user JSMITH.\n"),
            "{}",
            n.text
        );
        // Latin-1 text is not mistaken for EBCDIC.
        assert_eq!(decode("Kennwort für Jörg".as_bytes()).0, Encoding::Utf8);
        assert_eq!(decode(b"Caf\xe9 au lait, s'il vous pla\xeet").0, Encoding::Utf8);
    }

    #[test]
    fn zeros_are_binary_not_utf16() {
        assert!(matches!(normalize(&[0u8; 4096]), Err(InputError::Binary { .. })));
    }
}
