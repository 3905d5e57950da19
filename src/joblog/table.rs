//! `QSYS2.JOBLOG_INFO` result rows: CSV or semicolon files saved from Run SQL Scripts, tab
//! separated grid copies, Markdown pipe tables, and space-aligned STRSQL-style output. The
//! header row names the columns, so their order does not matter.

/// Columns this parser uses, by position in the row.
#[derive(Debug, Default, Clone)]
pub struct Columns {
    pub id: Option<usize>,
    pub msg_type: Option<usize>,
    pub severity: Option<usize>,
    pub timestamp: Option<usize>,
    pub from_program: Option<usize>,
    pub to_program: Option<usize>,
    pub text: Option<usize>,
    pub second_level: Option<usize>,
    pub job: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub cells: Vec<String>,
    /// 1-based input lines of the row (a quoted cell may span lines).
    pub lines: (usize, usize),
}

impl Row {
    pub fn cell(&self, i: Option<usize>) -> Option<&str> {
        let c = self.cells.get(i?)?.trim();
        (!c.is_empty() && c != "-" && !c.eq_ignore_ascii_case("null")).then_some(c)
    }
}

#[derive(Debug)]
pub struct Table {
    pub columns: Columns,
    pub rows: Vec<Row>,
    /// Index of the first line after the table.
    pub next: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Delimited(char),
    Pipes,
    Aligned,
}

/// A quoted cell longer than this many lines is taken for a stray quote, not a cell.
const MAX_QUOTED_LINES: usize = 60;

/// Cheap test run on every line: could this be a JOBLOG_INFO header row?
pub fn may_be_header(line: &str) -> bool {
    contains_ci(line, "MESSAGE_ID") || contains_ci(line, "MESSAGE ID\t")
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Parses the table whose header is `lines[at]`; `None` when the line is not such a header.
pub fn parse(lines: &[&str], at: usize) -> Option<Table> {
    let header = *lines.get(at)?;
    let layout = layout_of(header);
    let names: Vec<String> = match layout {
        Layout::Aligned => header.split_whitespace().map(normalise_name).collect(),
        _ => split_simple(header, layout).iter().map(|c| normalise_name(c)).collect(),
    };
    let columns = columns_of(&names)?;
    let mut rows = Vec::new();
    let mut i = at + 1;
    let starts = aligned_starts(header);
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            break;
        }
        if is_rule(line) {
            i += 1;
            continue;
        }
        let (cells, next) = match layout {
            Layout::Aligned => (split_aligned(line, &starts), i + 1),
            Layout::Pipes => (split_simple(line, layout), i + 1),
            Layout::Delimited(d) => read_record(lines, i, d),
        };
        // A row with far fewer cells than the header is whatever follows the table.
        if cells.len() < 2 || cells.len() * 2 < names.len().min(8) {
            break;
        }
        rows.push(Row {
            cells,
            lines: (i + 1, next),
        });
        i = next;
    }
    Some(Table { columns, rows, next: i })
}

fn layout_of(header: &str) -> Layout {
    if header.contains('\t') {
        return Layout::Delimited('\t');
    }
    if header.trim_start().starts_with('|') || header.matches('|').count() >= 2 {
        return Layout::Pipes;
    }
    let commas = header.matches(',').count();
    let semis = header.matches(';').count();
    if commas.max(semis) >= 1 {
        return Layout::Delimited(if semis > commas { ';' } else { ',' });
    }
    Layout::Aligned
}

fn normalise_name(cell: &str) -> String {
    cell.trim()
        .trim_matches('"')
        .trim()
        .to_ascii_uppercase()
        .replace(' ', "_")
}

fn columns_of(names: &[String]) -> Option<Columns> {
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
    let c = Columns {
        id: find(&["MESSAGE_ID", "MSGID"]),
        msg_type: find(&["MESSAGE_TYPE"]),
        severity: find(&["SEVERITY", "MESSAGE_SEVERITY"]),
        timestamp: find(&["MESSAGE_TIMESTAMP"]),
        from_program: find(&["FROM_PROGRAM"]),
        to_program: find(&["TO_PROGRAM"]),
        text: find(&["MESSAGE_TEXT"]),
        second_level: find(&["MESSAGE_SECOND_LEVEL_TEXT"]),
        job: find(&["QUALIFIED_JOB_NAME", "FROM_JOB"]),
    };
    (c.id.is_some() && (c.text.is_some() || c.msg_type.is_some())).then_some(c)
}

fn is_rule(line: &str) -> bool {
    line.chars()
        .all(|c| matches!(c, '-' | '=' | '+' | '|' | ':' | ' ' | '\t'))
}

fn split_simple(line: &str, layout: Layout) -> Vec<String> {
    match layout {
        Layout::Pipes => {
            let t = line.trim();
            let t = t.strip_prefix('|').unwrap_or(t);
            let t = t.strip_suffix('|').unwrap_or(t);
            t.split('|').map(|c| c.trim().to_string()).collect()
        }
        Layout::Delimited(d) => line.split(d).map(|c| c.trim().trim_matches('"').to_string()).collect(),
        Layout::Aligned => line.split_whitespace().map(str::to_string).collect(),
    }
}

/// Column start positions (in characters) of a space-aligned header.
fn aligned_starts(header: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut prev_space = true;
    for (i, c) in header.chars().enumerate() {
        if !c.is_whitespace() && prev_space {
            starts.push(i);
        }
        prev_space = c.is_whitespace();
    }
    starts
}

fn split_aligned(line: &str, starts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(chars.len()).min(chars.len());
        let s = s.min(e);
        cells.push(chars[s..e].iter().collect::<String>().trim().to_string());
    }
    cells
}

/// Reads one delimited record starting at `lines[at]`, following quoted cells across lines.
/// Returns the cells and the index of the next line.
fn read_record(lines: &[&str], at: usize, delim: char) -> (Vec<String>, usize) {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut i = at;
    while let Some(line) = lines.get(i) {
        crate::work::add(line.len() + 1);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        cur.push('"');
                        chars.next();
                    } else {
                        quoted = false;
                    }
                } else {
                    cur.push(c);
                }
            } else if c == '"' && cur.trim().is_empty() {
                quoted = true;
                cur.clear();
            } else if c == delim {
                cells.push(std::mem::take(&mut cur).trim().to_string());
            } else {
                cur.push(c);
            }
        }
        i += 1;
        if !quoted {
            cells.push(cur.trim().to_string());
            return (cells, i);
        }
        if i - at >= MAX_QUOTED_LINES {
            break;
        }
        cur.push('\n');
    }
    // An unbalanced quote: read the first line plainly and move on.
    let plain = lines
        .get(at)
        .map(|l| split_simple(l, Layout::Delimited(delim)))
        .unwrap_or_default();
    (plain, at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_commas_and_line_breaks() {
        let lines = [
            "ORDINAL_POSITION,MESSAGE_ID,MESSAGE_TYPE,SEVERITY,MESSAGE_TEXT,MESSAGE_SECOND_LEVEL_TEXT",
            r#"1,CPDB053,DIAGNOSTIC,30,"Error exchanging security information for user JSMITH on network server NAS01.","&N Cause . . . :   The error class was 0, and the"#,
            r#"error code was 3401. He said ""no"".""#,
            "2,CPFA0A9,ESCAPE,40,Object not found.  Object is /QNTC/NAS01/x.,",
            "",
            "after",
        ];
        let t = parse(&lines, 0).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].lines, (2, 3));
        assert_eq!(
            t.rows[0].cell(t.columns.text),
            Some("Error exchanging security information for user JSMITH on network server NAS01.")
        );
        assert!(
            t.rows[0]
                .cell(t.columns.second_level)
                .unwrap()
                .ends_with("3401. He said \"no\".")
        );
        assert_eq!(t.rows[1].cell(t.columns.id), Some("CPFA0A9"));
        assert_eq!(t.next, 4);
    }

    #[test]
    fn unbalanced_quote_does_not_swallow_the_rest() {
        let mut lines = vec!["MESSAGE_ID,MESSAGE_TEXT", "CPFA0A9,\"Object not found"];
        lines.extend(std::iter::repeat_n("x,y", 100));
        let t = parse(&lines, 0).unwrap();
        assert_eq!(t.rows[0].cells, ["CPFA0A9", "Object not found"]);
        assert_eq!(t.rows[0].lines, (2, 2));
    }

    #[test]
    fn tabs_pipes_and_aligned() {
        let tsv = [
            "MESSAGE_ID\tMESSAGE_TYPE\tSEVERITY\tMESSAGE_TEXT",
            "CPFA09C\tDIAGNOSTIC\t40\tNot authorized to object.  Object is /QNTC/a.",
        ];
        let t = parse(&tsv, 0).unwrap();
        assert_eq!(t.rows[0].cell(t.columns.severity), Some("40"));
        let md = [
            "| MESSAGE_ID | SEVERITY | MESSAGE_TEXT |",
            "|---|---|---|",
            "| CPFA0AD | 40 | Function not supported by file system. |",
        ];
        let t = parse(&md, 0).unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(
            t.rows[0].cell(t.columns.text),
            Some("Function not supported by file system.")
        );
        let al = [
            "MESSAGE_ID  MESSAGE_TYPE  SEVERITY  MESSAGE_TEXT",
            "----------  ------------  --------  ------------",
            "CPF2817     ESCAPE              40  Copy command ended because of error.",
        ];
        let t = parse(&al, 0).unwrap();
        assert_eq!(
            t.rows[0].cell(t.columns.text),
            Some("Copy command ended because of error.")
        );
        assert_eq!(t.rows[0].cell(t.columns.severity), Some("40"));
    }

    #[test]
    fn not_a_header() {
        assert!(parse(&["the MESSAGE_ID column is empty"], 0).is_none());
    }
}
