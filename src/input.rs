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

/// Normalises raw bytes. Rejects empty, oversized and binary input with a clear error.
pub fn normalize(raw: &[u8]) -> Result<Normalized, InputError> {
    crate::work::add(raw.len());
    if raw.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge {
            size: raw.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let (text, lossy) = match std::str::from_utf8(raw) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), false),
        Err(_) => (String::from_utf8_lossy(raw), true),
    };
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
