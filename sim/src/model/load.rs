//! Loading YAML: files and folders, multi-document streams, `kind: List`, unknown kinds skipped
//! with a note, unknown fields warned about, every error with file and line.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_yaml::Value;

use super::input::{is_stdin, read_input, Named};
use super::locate::yaml_message;
use super::locate::{split_documents, Document, FieldPath};
use super::parse::{describe, parse_value, Source};
use super::walk::{files_under, is_manifest};
use super::{Object, Origin, Resources, Warning};

/// A load failure: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// File and line.
    pub origin: Origin,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.origin, self.message)
    }
}

impl std::error::Error for LoadError {}

/// Loads every `.yaml`/`.yml`/`.json` file under the given files and folders (folders in sorted
/// order) into one resource set. A path named here may be a pipe or `-` (stdin); files found in
/// folders must be regular files. Each is read once.
pub fn load_paths(paths: &[PathBuf]) -> Result<Resources, LoadError> {
    let mut sources = Vec::new();
    for path in paths {
        for (file, named) in collect_files(path)? {
            let text = read_input(&file, named).map_err(|e| LoadError {
                origin: Origin {
                    file: file.clone(),
                    line: 0,
                },
                message: e.to_string(),
            })?;
            sources.push((file, text));
        }
    }
    load_sources(sources)
}

/// How `-f` inputs are read, beyond their text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions<'a> {
    /// `-n NAMESPACE` as `kubectl apply -n` takes it: namespaced objects without a namespace
    /// land there and an object naming another one is an error. `None`: they land in
    /// `default` and any namespace is accepted.
    pub namespace: Option<&'a str>,
}

/// Loads already-read texts, each with the file it came from, in order (later objects replace
/// earlier ones), in time linear in their objects.
pub fn load_sources<S: AsRef<str>>(
    sources: impl IntoIterator<Item = (PathBuf, S)>,
) -> Result<Resources, LoadError> {
    load_sources_with(sources, LoadOptions::default())
}

/// [`load_sources`] with options; the first file that cannot be loaded is the error.
pub fn load_sources_with<S: AsRef<str>>(
    sources: impl IntoIterator<Item = (PathBuf, S)>,
    options: LoadOptions<'_>,
) -> Result<Resources, LoadError> {
    let (resources, mut errors) = load_sources_each(sources, options, true);
    if errors.is_empty() {
        Ok(resources)
    } else {
        Err(errors.swap_remove(0))
    }
}

/// [`load_sources`] that does not stop at a file it cannot load: such a file contributes no
/// object, and its error (file, line, what was expected) is returned beside what did load, one
/// per file, in order. With `stop_at_first`, nothing after the first error is read.
pub fn load_sources_each<S: AsRef<str>>(
    sources: impl IntoIterator<Item = (PathBuf, S)>,
    options: LoadOptions<'_>,
    stop_at_first: bool,
) -> (Resources, Vec<LoadError>) {
    let mut resources = Resources::default();
    let mut errors = Vec::new();
    let mut bulk = resources.bulk(true);
    for (file, text) in sources {
        let (objects, warnings) = match load_objects(text.as_ref(), &file, options) {
            Ok(loaded) => loaded,
            Err(e) => {
                errors.push(e);
                if stop_at_first {
                    break;
                }
                continue;
            }
        };
        for warning in warnings {
            bulk.warn(warning);
        }
        for object in objects {
            bulk.insert(object);
        }
    }
    resources.normalise();
    (resources, errors)
}

/// The files a path names: the file itself (whatever its extension, or `-`), or every manifest
/// below a folder, as `walk::files_under` lists them.
fn collect_files(path: &Path) -> Result<Vec<(PathBuf, Named)>, LoadError> {
    let error = |file: &Path, message: String| LoadError {
        origin: Origin {
            file: file.to_path_buf(),
            line: 0,
        },
        message,
    };
    if is_stdin(path) {
        return Ok(vec![(path.to_path_buf(), Named::Directly)]);
    }
    let meta = std::fs::metadata(path).map_err(|e| error(path, format!("cannot open: {e}")))?;
    if meta.is_dir() {
        let files = files_under(path, is_manifest).map_err(|e| error(&e.path, e.to_string()))?;
        Ok(files.into_iter().map(|f| (f, Named::Indirectly)).collect())
    } else {
        Ok(vec![(path.to_path_buf(), Named::Directly)])
    }
}

/// Loads one YAML stream (possibly multi-document) read from `file`.
pub fn load_str(text: &str, file: &Path) -> Result<Resources, LoadError> {
    load_sources([(file.to_path_buf(), text)])
}

/// Every object of a stream, in order, with the loader's warnings. The documents are parsed
/// on every core (a 1 000-workload mesh is 4 000 documents) and their objects, warnings and
/// first error taken in document order, as one after the other would give them.
pub(crate) fn load_objects(
    text: &str,
    file: &Path,
    options: LoadOptions<'_>,
) -> Result<(Vec<Object>, Vec<Warning>), LoadError> {
    let loaded: Vec<_> = split_documents(text)
        .into_par_iter()
        .map(|doc| load_one(&doc, file, options))
        .collect();
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    for one in loaded {
        let (mut o, mut w) = one?;
        objects.append(&mut o);
        warnings.append(&mut w);
    }
    Ok((objects, warnings))
}

/// The objects of one document of `file`, with the loader's warnings.
fn load_one(
    doc: &Document,
    file: &Path,
    options: LoadOptions<'_>,
) -> Result<(Vec<Object>, Vec<Warning>), LoadError> {
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    let mut value: Value = serde_yaml::from_str(&doc.text).map_err(|e| LoadError {
        origin: Origin {
            file: file.to_path_buf(),
            // An unexpected end of input is reported one line past the end.
            line: e
                .location()
                .map(|l| (doc.line_offset + l.line()).min(doc.last_line()))
                .unwrap_or_else(|| doc.first_line()),
        },
        message: format!("invalid YAML: {}", yaml_message(&e)),
    })?;
    // YAML merge keys (`<<: *defaults`) are resolved on the value; the text then no longer
    // deserialises to the same thing.
    let exact_text = !doc.text.contains("<<");
    if !exact_text {
        value.apply_merge().map_err(|e| LoadError {
            origin: Origin {
                file: file.to_path_buf(),
                line: doc.first_line(),
            },
            message: format!("invalid YAML merge key: {}", yaml_message(&e)),
        })?;
    }
    load_document(
        &value,
        doc,
        file,
        exact_text,
        options,
        &mut objects,
        &mut warnings,
    )?;
    Ok((objects, warnings))
}

fn load_document(
    value: &Value,
    doc: &Document,
    file: &Path,
    exact_text: bool,
    options: LoadOptions<'_>,
    objects: &mut Vec<Object>,
    warnings: &mut Vec<Warning>,
) -> Result<(), LoadError> {
    if value.is_null() {
        return Ok(());
    }
    let src = Source {
        file,
        doc: Some(doc),
        prefix: FieldPath::root(),
        line: doc.first_line(),
        exact_text,
        unknown_fields: RefCell::default(),
        namespace: options.namespace,
    };
    if let Some(items) = list_items(value, &src)? {
        let lines = doc.item_lines(&FieldPath::root().key("items"));
        for (i, item) in items.iter().enumerate() {
            if item.is_null() {
                continue;
            }
            let prefix = FieldPath::root().key("items").index(i);
            // Block-style lists are indexed in one pass; flow style and JSON are searched.
            let line = match lines.get(i) {
                Some(l) if lines.len() == items.len() => *l,
                _ => doc.line_of(&prefix),
            };
            let item_src = Source {
                file,
                doc: Some(doc),
                prefix,
                line,
                exact_text,
                unknown_fields: RefCell::default(),
                namespace: options.namespace,
            };
            if let Some(object) = parse_value(item, &item_src, warnings)? {
                objects.push(object);
            }
        }
        return Ok(());
    }
    if let Some(object) = parse_value(value, &src, warnings)? {
        objects.push(object);
    }
    Ok(())
}

/// `kind: List` (what `kubectl get -o yaml` prints) and typed lists (`PodList`, ...) hold their
/// objects in `items`.
fn list_items<'v>(value: &'v Value, src: &Source<'_>) -> Result<Option<&'v Vec<Value>>, LoadError> {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "List" && !(kind.ends_with("List") && value.get("items").is_some()) {
        return Ok(None);
    }
    match value.get("items") {
        None | Some(Value::Null) => Ok(Some(empty())),
        Some(Value::Sequence(items)) => Ok(Some(items)),
        Some(other) => Err(LoadError {
            origin: src.at(&FieldPath::root().key("items")),
            message: format!(
                "`items` of a {kind} must be a list of objects, found {}",
                describe(other)
            ),
        }),
    }
}

fn empty() -> &'static Vec<Value> {
    static EMPTY: Vec<Value> = Vec::new();
    &EMPTY
}

/// Parses one already-parsed YAML object (an inline scenario resource, an `apply:` entry).
/// `Ok(None)` for kinds meshsim does not model (a warning is pushed).
pub fn parse_object(
    value: &Value,
    origin: Origin,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Object>, LoadError> {
    let src = Source {
        file: &origin.file,
        doc: None,
        prefix: FieldPath::root(),
        line: origin.line,
        exact_text: false,
        unknown_fields: RefCell::default(),
        namespace: None,
    };
    if list_items(value, &src)?.is_some() {
        return Err(LoadError {
            origin,
            message: "a List is not one object here: list its items instead".into(),
        });
    }
    parse_value(value, &src, warnings)
}

/// Parses one object that sits at `path` inside a larger YAML file (a scenario's
/// `resources[2]` or `steps[3].apply[0]`), so errors and warnings carry the file line of the
/// offending field. `text` is the whole (single-document) file the value was read from.
pub fn parse_object_at(
    value: &Value,
    file: &Path,
    text: &str,
    path: &FieldPath,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Object>, LoadError> {
    let doc = Document::new(text.to_string(), 0);
    let src = Source {
        file,
        doc: Some(&doc),
        prefix: path.clone(),
        line: doc.line_of(path),
        exact_text: false,
        unknown_fields: RefCell::default(),
        namespace: None,
    };
    if list_items(value, &src)?.is_some() {
        return Err(LoadError {
            origin: src.origin(),
            message: "a List is not one object here: list its items instead".into(),
        });
    }
    parse_value(value, &src, warnings)
}
