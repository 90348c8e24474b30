//! Source positions for YAML: splitting a stream into documents with their line offsets, and
//! finding the line of a field path (`spec.rules[0].from`) in a document's text, so that errors
//! and warnings point at the offending field rather than at the document.

use std::cell::OnceCell;
use std::fmt;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A field path inside a document, printed the way Kubernetes prints it: `spec.rules[0].from`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The empty path (the document itself).
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        FieldPath(segs)
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> FieldPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        FieldPath(segs)
    }

    /// Parses a dotted path as `serde_ignored` and `serde_yaml` print it (`spec.rules[0].from`,
    /// `spec.rules.0.from`).
    pub fn parse(text: &str) -> FieldPath {
        let mut segs = Vec::new();
        for part in text.split('.') {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                let (name, idx) = rest.split_at(open);
                if !name.is_empty() {
                    segs.push(Seg::Key(name.to_string()));
                }
                rest = idx;
                for piece in rest.split('[').filter(|p| !p.is_empty()) {
                    let digits = piece.trim_end_matches(']');
                    match digits.parse::<usize>() {
                        Ok(n) => segs.push(Seg::Index(n)),
                        Err(_) => segs.push(Seg::Key(digits.to_string())),
                    }
                }
            } else if let Ok(n) = rest.parse::<usize>() {
                segs.push(Seg::Index(n));
            } else if !rest.is_empty() && rest != "?" {
                segs.push(Seg::Key(rest.to_string()));
            }
        }
        FieldPath(segs)
    }

    /// The path `serde_path_to_error` tracked to a failing field (map keys and sequence
    /// indexes; enum variants and unknown segments name no field and are dropped).
    pub fn from_serde(path: &serde_path_to_error::Path) -> FieldPath {
        use serde_path_to_error::Segment;
        FieldPath(
            path.iter()
                .filter_map(|seg| match seg {
                    Segment::Seq { index } => Some(Seg::Index(*index)),
                    Segment::Map { key } => Some(Seg::Key(key.clone())),
                    Segment::Enum { .. } | Segment::Unknown => None,
                })
                .collect(),
        )
    }

    /// The value this path names inside `value`, when it is there.
    pub fn get<'v>(&self, value: &'v serde_yaml::Value) -> Option<&'v serde_yaml::Value> {
        self.0.iter().try_fold(value, |v, seg| match seg {
            Seg::Key(k) => v.get(k.as_str()),
            Seg::Index(i) => v.get(*i),
        })
    }

    /// Appends another path.
    pub fn join(&self, other: &FieldPath) -> FieldPath {
        let mut segs = self.0.clone();
        segs.extend(other.0.iter().cloned());
        FieldPath(segs)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The document's text; separator lines are blanked so line numbers stay aligned.
    pub text: String,
    /// Lines of the file before the document's first line.
    pub line_offset: usize,
    /// The text's meaningful lines, scanned once on first lookup (a dump has thousands).
    scanned: OnceCell<Vec<Line>>,
}

impl Document {
    /// 1-based file line of the document's first non-blank, non-comment line.
    pub fn first_line(&self) -> usize {
        let local = self
            .text
            .lines()
            .position(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#')
            })
            .unwrap_or(0);
        self.line_offset + local + 1
    }

    /// 1-based file line of the document's last line.
    pub fn last_line(&self) -> usize {
        self.line_offset + self.text.lines().count().max(1)
    }

    /// A document from its text and the number of file lines before it.
    pub fn new(text: String, line_offset: usize) -> Document {
        Document {
            text,
            line_offset,
            scanned: OnceCell::new(),
        }
    }

    fn lines(&self) -> &[Line] {
        self.scanned.get_or_init(|| scan(&self.text))
    }

    /// 0-based line of `path` (or of its deepest existing ancestor) within the document.
    pub fn find(&self, path: &FieldPath) -> Option<usize> {
        block_find(self.lines(), path).or_else(|| ordered_find(&self.text, path))
    }

    /// 1-based file line of `path`, or of the document when the path cannot be found.
    pub fn line_of(&self, path: &FieldPath) -> usize {
        match self.find(path) {
            Some(local) => self.line_offset + local + 1,
            None => self.first_line(),
        }
    }

    /// 1-based file line of `path` when the whole path exists in the block layout; `None` when
    /// it does not (no fallback to an ancestor or to a text search).
    pub fn exact_line(&self, path: &FieldPath) -> Option<usize> {
        let mut deepest = None;
        block_walk(self.lines(), path, &mut deepest).map(|l| self.line_offset + l + 1)
    }

    /// 1-based file lines of every item of the block sequence at `path` (`items` of a List),
    /// found in one pass.
    pub fn item_lines(&self, path: &FieldPath) -> Vec<usize> {
        if self.text.trim_start().starts_with('{') {
            return json_item_lines(&self.text, path)
                .into_iter()
                .map(|l| self.line_offset + l + 1)
                .collect();
        }
        let lines = self.lines();
        let Some(key_line) = block_find(lines, path) else {
            return Vec::new();
        };
        let Some(start) = lines.iter().position(|l| l.number > key_line) else {
            return Vec::new();
        };
        let Some(col) = lines[start].dashes.first().copied() else {
            return Vec::new();
        };
        lines[start..]
            .iter()
            .take_while(|l| l.dashes.first().is_some_and(|d| *d >= col) || l.indent > col)
            .filter(|l| l.dashes.first() == Some(&col))
            .map(|l| self.line_offset + l.number + 1)
            .collect()
    }
}

/// Splits a stream at `---` / `...` lines. Each document keeps its position in the file, so a
/// parse error's line (relative to the document) plus `line_offset` is the line in the file.
pub fn split_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut offset = 0usize;
    let mut has_content = false;
    for (n, line) in text.lines().enumerate() {
        let is_start = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let is_end = line == "..." || line.starts_with("... ");
        if is_start || is_end {
            if has_content {
                docs.push(Document::new(std::mem::take(&mut current), offset));
            }
            current.clear();
            has_content = false;
            offset = n;
            // `--- {a: 1}` puts content on the marker line; keep it, in its column.
            let rest = if is_start { &line[3..] } else { "" };
            current.push_str(&" ".repeat(3.min(line.len())));
            current.push_str(rest);
            current.push('\n');
            if !rest.trim().is_empty() && !rest.trim().starts_with('#') {
                has_content = true;
            }
            continue;
        }
        if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            has_content = true;
        }
        current.push_str(line);
        current.push('\n');
    }
    if has_content {
        docs.push(Document::new(current, offset));
    }
    docs
}

/// A meaningful line: its number, indentation of the content after any `- ` markers, the
/// indentation of each `- ` marker, and the content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    number: usize,
    dashes: Vec<usize>,
    indent: usize,
    content: String,
}

fn scan(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut content = trimmed;
        let mut dashes = Vec::new();
        while content == "-" || content.starts_with("- ") {
            dashes.push(indent);
            let after = &content[1..];
            let stripped = after.trim_start();
            indent += 1 + (after.len() - stripped.len());
            content = stripped;
            if content.is_empty() {
                break;
            }
        }
        out.push(Line {
            number,
            dashes,
            indent,
            content: content.to_string(),
        });
    }
    out
}

fn key_of(content: &str) -> Option<&str> {
    // Node properties before an implicit key (`&anchor steps:`, `!!str name:`) belong to the
    // key node; the key itself is what follows them.
    let mut content = content;
    while let Some(rest) = content
        .strip_prefix('&')
        .or_else(|| content.strip_prefix('!'))
    {
        let (_, after) = rest.split_once(char::is_whitespace)?;
        content = after.trim_start();
    }
    let (key, rest) = if let Some(stripped) = content.strip_prefix('"') {
        let end = stripped.find('"')?;
        (&stripped[..end], &stripped[end + 1..])
    } else if let Some(stripped) = content.strip_prefix('\'') {
        let end = stripped.find('\'')?;
        (&stripped[..end], &stripped[end + 1..])
    } else {
        let end = content.find(':')?;
        (&content[..end], &content[end..])
    };
    let rest = rest.trim_start();
    if rest.starts_with(':') {
        Some(key.trim_end())
    } else {
        None
    }
}

/// The line of `path`, or of its deepest ancestor that exists (a missing key's parent).
fn block_find(lines: &[Line], path: &FieldPath) -> Option<usize> {
    let mut deepest = None;
    let result = block_walk(lines, path, &mut deepest);
    result.or(deepest)
}

fn block_walk(lines: &[Line], path: &FieldPath, deepest: &mut Option<usize>) -> Option<usize> {
    // The node's extent: lines [lo, hi), its first line's content column, and where the node
    // starts (for returning the line of the last segment).
    let (mut lo, mut hi) = (0usize, lines.len());
    let mut found = lines.first().map(|l| l.number);
    for seg in &path.0 {
        if lo >= hi {
            return None;
        }
        match seg {
            Seg::Key(key) => {
                // The mapping's column is the content column of its first line.
                let col = lines[lo].indent;
                let mut hit = None;
                for (i, line) in lines.iter().enumerate().take(hi).skip(lo) {
                    if i > lo && line.indent < col && line.dashes.iter().all(|d| *d < col) {
                        break;
                    }
                    if line.indent == col && key_of(&line.content) == Some(key.as_str()) {
                        hit = Some(i);
                        break;
                    }
                }
                let i = hit?;
                found = Some(lines[i].number);
                *deepest = found;
                // The value: inline (same line) or the following more-indented lines; a block
                // sequence may sit at the key's own column.
                let after = lines[i].content.split_once(':').map_or("", |x| x.1);
                let value_inline = !after.trim().is_empty() && !after.trim_start().starts_with('#');
                if value_inline {
                    lo = i;
                    hi = i + 1;
                    continue;
                }
                let mut end = i + 1;
                while end < hi {
                    let l = &lines[end];
                    let deeper = l.indent > col && l.dashes.iter().all(|d| *d >= col);
                    let seq_here = l.dashes.first() == Some(&col);
                    if deeper || seq_here {
                        end += 1;
                    } else {
                        break;
                    }
                }
                lo = i + 1;
                hi = end;
            }
            Seg::Index(n) => {
                let first = lines.get(lo)?;
                let col = *first.dashes.first()?;
                let mut starts = Vec::new();
                for (i, line) in lines.iter().enumerate().take(hi).skip(lo) {
                    if line.dashes.first() == Some(&col) {
                        starts.push(i);
                    }
                }
                let start = *starts.get(*n)?;
                let end = starts.get(n + 1).copied().unwrap_or(hi);
                found = Some(lines[start].number);
                *deepest = found;
                // Strip the consumed dash: the item's own content starts at the next column.
                lo = start;
                hi = end;
                // Re-scan the item's first line without its outer dash.
                if lines[start].dashes.len() > 1 {
                    // A nested sequence item (`- - a`): the inner index applies to this line.
                    return Some(lines[start].number);
                }
            }
        }
    }
    found
}

fn ordered_find(text: &str, path: &FieldPath) -> Option<usize> {
    let all: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut found = None;
    for seg in &path.0 {
        if let Seg::Key(key) = seg {
            let quoted = format!("\"{key}\"");
            let plain = format!("{key}:");
            let pos = all.iter().enumerate().skip(from).position(|(_, l)| {
                let t = l.trim_start().trim_start_matches(['-', ' ', '{', ',']);
                t.starts_with(&plain)
                    || t.starts_with(&quoted)
                    || l.contains(&format!(" {plain}"))
                    || l.contains(&format!("{{{plain}"))
                    || l.contains(&quoted)
            })?;
            from += pos;
            found = Some(from);
        }
    }
    found
}

/// 0-based lines where each element of the top-level JSON array `path` (one key, e.g. `items`)
/// starts: a small tokenizer that tracks strings and nesting depth.
fn json_item_lines(text: &str, path: &FieldPath) -> Vec<usize> {
    let [Seg::Key(want)] = path.0.as_slice() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut depth, mut line) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    let mut last_string = String::new();
    let mut awaiting_array = false;
    let mut array_depth = None;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '"' => {
                last_string.clear();
                while let Some(ch) = chars.next() {
                    match ch {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        '\n' => line += 1,
                        other => last_string.push(other),
                    }
                }
                continue;
            }
            ':' => awaiting_array = depth == 1 && last_string == *want,
            '[' | '{' => {
                if c == '[' && awaiting_array {
                    array_depth = Some(depth + 1);
                } else if array_depth == Some(depth) {
                    out.push(line);
                }
                awaiting_array = false;
                depth += 1;
            }
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if array_depth == Some(depth + 1) && c == ']' {
                    array_depth = None;
                }
            }
            c if !c.is_whitespace() => {
                if array_depth == Some(depth) && c != ',' {
                    out.push(line);
                }
                awaiting_array = false;
            }
            _ => {}
        }
    }
    out
}

/// A serde_yaml error's message without its "at line L column C" positions (relative to the
/// parsed snippet; libyaml errors carry two): every caller reports the file line up front
/// instead, like a compiler does.
pub fn yaml_message(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(pos) = rest.find(" at line ") {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + " at line ".len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let after = &tail[digits..];
        match after.strip_prefix(" column ") {
            Some(col) if digits > 0 => {
                let cd = col.bytes().take_while(u8::is_ascii_digit).count();
                rest = &col[cd..];
            }
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}
