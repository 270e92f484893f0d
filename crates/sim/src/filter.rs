//! The view filter language of the simulator: a parser and an evaluator over ticket JSON.
//!
//! Gorgias views hold a JavaScript-like expression such as
//! `eq(ticket.channel, 'chat') && eq(ticket.assignee_user.id, '{{current_user.id}}')`.
//! This module owns the grammar (calls joined by `&&` / `||`, parentheses, `&&` binding tighter),
//! the set of operators and ticket paths the simulator accepts, and their loose comparison rules.
//! It must not know anything about storage: it sees a ticket only as the JSON the API would return.
//!
//! Grammar:
//! ```text
//! expr    := and ('||' and)*
//! and     := primary ('&&' primary)*
//! primary := '(' expr ')' | call
//! call    := IDENT '(' path (',' literal)? ')'
//! literal := 'string' | "string" | number | true | false | null | '[' literal, ... ']'
//! ```

use jiff::Timestamp;
use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// A parse or validation error, with the byte position in the expression where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at position {pos}: {msg}")]
pub struct FilterError {
    /// Byte offset into the expression.
    pub pos: usize,
    /// What is wrong.
    pub msg: String,
}

/// The operators Gorgias views are known to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal (loose: a number equals its decimal string).
    Eq,
    /// Not equal.
    Neq,
    /// Greater or equal (numbers, then datetimes, then strings).
    Gte,
    /// Lower or equal.
    Lte,
    /// The path's list holds every listed value.
    ContainsAll,
    /// The path's list holds at least one listed value.
    ContainsAny,
    /// Not `ContainsAll`.
    NotContainsAll,
    /// Not `ContainsAny`.
    NotContainsAny,
    /// Null, missing, empty list or empty string.
    IsEmpty,
    /// String prefix.
    StartsWith,
    /// String suffix.
    EndsWith,
}

impl Op {
    fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gte" => Op::Gte,
            "lte" => Op::Lte,
            "containsAll" => Op::ContainsAll,
            "containsAny" => Op::ContainsAny,
            "notContainsAll" => Op::NotContainsAll,
            "notContainsAny" => Op::NotContainsAny,
            "isEmpty" => Op::IsEmpty,
            "startsWith" => Op::StartsWith,
            "endsWith" => Op::EndsWith,
            _ => return None,
        })
    }
}

/// The ticket paths a filter may name. Anything else is rejected, as an unknown field would be.
pub const KNOWN_PATHS: &[&str] = &[
    "ticket.id",
    "ticket.status",
    "ticket.channel",
    "ticket.via",
    "ticket.priority",
    "ticket.spam",
    "ticket.subject",
    "ticket.language",
    "ticket.external_id",
    "ticket.tags.name",
    "ticket.tags.id",
    "ticket.assignee_user.id",
    "ticket.assignee_team.id",
    "ticket.customer.id",
    "ticket.customer.email",
    "ticket.created_datetime",
    "ticket.updated_datetime",
    "ticket.opened_datetime",
    "ticket.closed_datetime",
    "ticket.snooze_datetime",
    "ticket.last_message_datetime",
    "ticket.last_received_message_datetime",
    "ticket.messages_count",
];

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both sides hold.
    And(Box<Expr>, Box<Expr>),
    /// Either side holds.
    Or(Box<Expr>, Box<Expr>),
    /// One operator call.
    Call {
        /// The operator.
        op: Op,
        /// The ticket path, e.g. `ticket.tags.name`.
        path: String,
        /// The literal argument (absent for `isEmpty`).
        arg: Option<Value>,
    },
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(a, b) => write!(f, "({a} && {b})"),
            Expr::Or(a, b) => write!(f, "({a} || {b})"),
            Expr::Call { op, path, arg } => match arg {
                Some(a) => write!(f, "{op:?}({path}, {a})"),
                None => write!(f, "{op:?}({path})"),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64, String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    And,
    Or,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b'[' | b']' | b',' | b'.' => {
                let t = match c {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b',' => Tok::Comma,
                    _ => Tok::Dot,
                };
                out.push((start, t));
                i += 1;
            }
            b'&' | b'|' => {
                if bytes.get(i + 1) != Some(&c) {
                    return Err(FilterError {
                        pos: start,
                        msg: format!("expected '{0}{0}'", c as char),
                    });
                }
                out.push((start, if c == b'&' { Tok::And } else { Tok::Or }));
                i += 2;
            }
            b'\'' | b'"' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&d) = bytes.get(i) else {
                        return Err(FilterError {
                            pos: start,
                            msg: "unterminated string".into(),
                        });
                    };
                    if d == quote {
                        i += 1;
                        break;
                    }
                    if d == b'\\' {
                        // The escaped character may be multi-byte: take it whole, or the next
                        // step would slice `src` inside it (found by the `filter` fuzz target).
                        let Some(e) = src[i + 1..].chars().next() else {
                            return Err(FilterError {
                                pos: start,
                                msg: "unterminated string".into(),
                            });
                        };
                        s.push(e);
                        i += 1 + e.len_utf8();
                        continue;
                    }
                    // Multi-byte UTF-8: copy the whole char.
                    let ch = src[i..]
                        .chars()
                        .next()
                        .expect("index is on a char boundary");
                    s.push(ch);
                    i += ch.len_utf8();
                }
                out.push((start, Tok::Str(s)));
            }
            b'0'..=b'9' | b'-' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let text = &src[start..i];
                let n: f64 = text.parse().map_err(|_| FilterError {
                    pos: start,
                    msg: format!("invalid number '{text}'"),
                })?;
                out.push((start, Tok::Num(n, text.to_string())));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((start, Tok::Ident(src[start..i].to_string())));
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(FilterError {
                    pos: start,
                    msg: format!("unexpected character '{ch}'"),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    /// Open parentheses around the current position.
    depth: usize,
    calls: usize,
}

impl Parser {
    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |t| t.0)
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|t| &t.1)
    }
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            pos: self.pos(),
            msg: msg.into(),
        })
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), FilterError> {
        if self.peek() == Some(&t) {
            self.at += 1;
            Ok(())
        } else {
            self.err(format!("expected {what}"))
        }
    }
    fn expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.primary()?;
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                if self.depth >= MAX_NESTING {
                    return self.err(format!("parentheses nested more than {MAX_NESTING} deep"));
                }
                self.at += 1;
                self.depth += 1;
                let e = self.expr()?;
                self.depth -= 1;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::Ident(name)) => self.call(&name),
            None => self.err("unexpected end of expression, expected a call"),
            Some(_) => self.err("expected a call such as eq(ticket.status, 'open')"),
        }
    }
    fn call(&mut self, name: &str) -> Result<Expr, FilterError> {
        let name_pos = self.pos();
        self.calls += 1;
        if self.calls > MAX_CALLS {
            return self.err(format!("more than {MAX_CALLS} calls in one expression"));
        }
        let Some(op) = Op::from_name(name) else {
            return Err(FilterError {
                pos: name_pos,
                msg: format!("unknown function '{name}'"),
            });
        };
        self.at += 1;
        self.expect(Tok::LParen, "'(' after function name")?;
        let path_pos = self.pos();
        let path = self.path()?;
        if !KNOWN_PATHS.contains(&path.as_str()) {
            return Err(FilterError {
                pos: path_pos,
                msg: format!("unknown field '{path}'"),
            });
        }
        let arg = if op == Op::IsEmpty {
            None
        } else {
            self.expect(
                Tok::Comma,
                &format!("',' and a value after the field in {name}"),
            )?;
            let arg_pos = self.pos();
            let v = self.literal()?;
            let list_op = matches!(
                op,
                Op::ContainsAll | Op::ContainsAny | Op::NotContainsAll | Op::NotContainsAny
            );
            if list_op && !v.is_array() {
                return Err(FilterError {
                    pos: arg_pos,
                    msg: format!("{name} expects a list such as ['a', 'b']"),
                });
            }
            if !list_op && v.is_array() {
                return Err(FilterError {
                    pos: arg_pos,
                    msg: format!("{name} expects a single value, not a list"),
                });
            }
            if matches!(op, Op::StartsWith | Op::EndsWith) && !v.is_string() {
                return Err(FilterError {
                    pos: arg_pos,
                    msg: format!("{name} expects a string"),
                });
            }
            Some(v)
        };
        self.expect(Tok::RParen, &format!("')' closing {name}"))?;
        Ok(Expr::Call { op, path, arg })
    }
    fn path(&mut self) -> Result<String, FilterError> {
        let Some(Tok::Ident(first)) = self.peek().cloned() else {
            return self.err("expected a field such as ticket.status");
        };
        self.at += 1;
        let mut path = first;
        while self.peek() == Some(&Tok::Dot) {
            self.at += 1;
            let Some(Tok::Ident(seg)) = self.peek().cloned() else {
                return self.err("expected a field name after '.'");
            };
            self.at += 1;
            path.push('.');
            path.push_str(&seg);
        }
        Ok(path)
    }
    fn literal(&mut self) -> Result<Value, FilterError> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.at += 1;
                Ok(Value::String(s))
            }
            Some(Tok::Num(n, text)) => {
                self.at += 1;
                Ok(if let Ok(i) = text.parse::<i64>() {
                    Value::from(i)
                } else {
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
                })
            }
            Some(Tok::Ident(w)) if w == "true" || w == "false" || w == "null" => {
                self.at += 1;
                Ok(match w.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::Null,
                })
            }
            Some(Tok::LBracket) => {
                self.at += 1;
                let mut items = Vec::new();
                if self.peek() == Some(&Tok::RBracket) {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    let v = self.literal()?;
                    if v.is_array() {
                        return self.err("nested lists are not allowed");
                    }
                    items.push(v);
                    match self.peek() {
                        Some(Tok::Comma) => self.at += 1,
                        Some(Tok::RBracket) => {
                            self.at += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return self.err("expected ',' or ']' in list"),
                    }
                }
            }
            Some(Tok::Ident(w)) => self.err(format!(
                "expected a value, found '{w}' (strings need quotes)"
            )),
            None => self.err("unexpected end of expression, expected a value"),
            Some(_) => self.err("expected a value"),
        }
    }
}

/// Limits that keep the recursive parser, evaluator and drop of a hostile expression off the
/// end of the stack (real views hold a handful of calls).
const MAX_NESTING: usize = 32;
const MAX_CALLS: usize = 256;

/// Parse and validate a filter expression. An empty expression is an error (Gorgias views
/// always filter on something; the daemon never means "every ticket").
pub fn parse(src: &str) -> Result<Expr, FilterError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        at: 0,
        end: src.len(),
        depth: 0,
        calls: 0,
    };
    if p.toks.is_empty() {
        return p.err("empty filter expression");
    }
    let e = p.expr()?;
    if p.at < p.toks.len() {
        return p.err("unexpected input after the expression (missing '&&' or '||'?)");
    }
    Ok(e)
}

/// What the evaluator knows about the caller: `{{current_user.id}}` in a string literal stands
/// for `current_user_id`.
#[derive(Debug, Clone, Copy)]
pub struct EvalCtx {
    /// The id of the user whose key made the request.
    pub current_user_id: u64,
}

fn substitute(v: &Value, ctx: &EvalCtx) -> Value {
    match v {
        Value::String(s) if s.contains("{{current_user.id}}") => {
            let r = s.replace("{{current_user.id}}", &ctx.current_user_id.to_string());
            // A literal that is only the template stands for the number itself.
            r.parse::<u64>().map_or(Value::String(r), Value::from)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, ctx)).collect()),
        other => other.clone(),
    }
}

/// The values found at `path` in `ticket` (the leading `ticket.` is dropped). Walking through a
/// list maps over its elements, so `ticket.tags.name` yields every tag's name. `None` means
/// missing or null.
fn resolve<'a>(ticket: &'a Value, path: &str) -> Option<Vec<&'a Value>> {
    let rest = path.strip_prefix("ticket.").unwrap_or(path);
    // Borrowed all the way: a view listing evaluates every call on every ticket.
    let mut current = vec![ticket];
    let mut through_list = false;
    for seg in rest.split('.') {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Array(items) => {
                    through_list = true;
                    next.extend(
                        items
                            .iter()
                            .filter_map(|item| item.get(seg))
                            .filter(|x| !x.is_null()),
                    );
                }
                Value::Object(_) => next.extend(v.get(seg).filter(|x| !x.is_null())),
                _ => {}
            }
        }
        current = next;
    }
    // Flatten a final list (e.g. `ticket.tags` itself).
    let mut flat = Vec::new();
    for v in current {
        match v {
            Value::Array(items) => {
                through_list = true;
                flat.extend(items.iter());
            }
            other => flat.push(other),
        }
    }
    if flat.is_empty() && !through_list {
        None
    } else {
        Some(flat)
    }
}

fn as_num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Parse an ISO datetime, with or without an offset (no offset = UTC, as Gorgias means it).
pub fn parse_datetime(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let dt = s.parse::<jiff::civil::DateTime>().ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => {
            if x == y {
                return true;
            }
            match (as_num(a), as_num(b)) {
                (Some(p), Some(q)) => p == q,
                _ => match (parse_datetime(x), parse_datetime(y)) {
                    (Some(p), Some(q)) => p == q,
                    _ => false,
                },
            }
        }
        _ => match (as_num(a), as_num(b)) {
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
    }
}

fn loose_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(p), Some(q)) = (as_num(a), as_num(b)) {
        return p.partial_cmp(&q);
    }
    if let (Value::String(x), Value::String(y)) = (a, b) {
        if let (Some(p), Some(q)) = (parse_datetime(x), parse_datetime(y)) {
            return Some(p.cmp(&q));
        }
        return Some(x.cmp(y));
    }
    None
}

/// Evaluate `expr` against one ticket (its API JSON, compact or full).
/// Whether `expr` can still hold for a ticket whose field `path` is `value` (`None`: absent),
/// judged only by the `eq` calls on `path` that `&&` joins at the top of `expr`: a check on one
/// field, cheap enough to skip most tickets of a large account before building their JSON.
/// Exact for those calls (they are evaluated as [`eval`] would); [`eval`] decides the rest.
pub fn may_hold(expr: &Expr, path: &str, value: Option<&Value>, ctx: &EvalCtx) -> bool {
    match expr {
        Expr::And(a, b) => may_hold(a, path, value, ctx) && may_hold(b, path, value, ctx),
        Expr::Call {
            op: Op::Eq,
            path: p,
            ..
        } if p == path => {
            // A ticket holding only this field: the call reads nothing else.
            let rest = path.strip_prefix("ticket.").unwrap_or(path);
            let only = rest
                .rsplit('.')
                .fold(value.cloned().unwrap_or(Value::Null), |inner, seg| {
                    Value::Object(serde_json::Map::from_iter([(seg.to_owned(), inner)]))
                });
            eval(expr, &only, ctx)
        }
        _ => true,
    }
}

pub fn eval(expr: &Expr, ticket: &Value, ctx: &EvalCtx) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, ticket, ctx) && eval(b, ticket, ctx),
        Expr::Or(a, b) => eval(a, ticket, ctx) || eval(b, ticket, ctx),
        Expr::Call { op, path, arg } => {
            let found = resolve(ticket, path);
            let arg = arg.as_ref().map(|a| substitute(a, ctx));
            let values = found.clone().unwrap_or_default();
            let lit = arg.unwrap_or(Value::Null);
            let any = |f: &dyn Fn(&Value) -> bool| values.iter().any(|v| f(v));
            match op {
                Op::Eq | Op::Neq => {
                    let is_eq = if lit.is_null() {
                        found.is_none()
                    } else {
                        any(&|v| loose_eq(v, &lit))
                    };
                    (*op == Op::Eq) == is_eq
                }
                Op::Gte => any(&|v| {
                    matches!(
                        loose_cmp(v, &lit),
                        Some(Ordering::Greater | Ordering::Equal)
                    )
                }),
                Op::Lte => {
                    any(&|v| matches!(loose_cmp(v, &lit), Some(Ordering::Less | Ordering::Equal)))
                }
                Op::ContainsAll | Op::ContainsAny | Op::NotContainsAll | Op::NotContainsAny => {
                    let wanted = lit.as_array().cloned().unwrap_or_default();
                    let has = |w: &Value| values.iter().any(|v| loose_eq(v, w));
                    match op {
                        Op::ContainsAll => wanted.iter().all(has),
                        Op::ContainsAny => wanted.iter().any(has),
                        Op::NotContainsAll => !wanted.iter().all(has),
                        _ => !wanted.iter().any(has),
                    }
                }
                Op::IsEmpty => values.is_empty() || values.iter().all(|v| v.as_str() == Some("")),
                Op::StartsWith | Op::EndsWith => {
                    let Some(needle) = lit.as_str() else {
                        return false;
                    };
                    any(&|v| {
                        v.as_str().is_some_and(|s| {
                            if *op == Op::StartsWith {
                                s.starts_with(needle)
                            } else {
                                s.ends_with(needle)
                            }
                        })
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaped_multibyte_character_in_a_string_is_kept_whole() {
        // Found by the `filter` fuzz target: this used to panic slicing inside 'é'.
        let e = parse("eq(ticket.subject, 'caf\\é \\'x')").expect("a valid filter");
        let Expr::Call { arg, .. } = e else {
            panic!("expected a call, got {e:?}")
        };
        assert_eq!(arg, Some(Value::String("café 'x".into())));
        let err = parse("eq(ticket.subject, '\\é").expect_err("unterminated");
        assert_eq!(err.msg, "unterminated string");
    }

    fn ticket() -> Value {
        json!({
            "id": 42,
            "status": "open",
            "channel": "chat",
            "subject": "Where is my order",
            "tags": [{"id": 1, "name": "vip"}, {"id": 2, "name": "refund"}],
            "assignee_user": {"id": 7, "email": "a@x.com", "name": "A"},
            "assignee_team": null,
            "customer": {"id": 5000, "email": "c@x.com"},
            "updated_datetime": "2024-02-14T21:31:12.367230+00:00",
            "last_received_message_datetime": "2024-02-14T21:00:00.000000+00:00",
            "created_datetime": "2024-02-14T20:00:00.000000+00:00"
        })
    }

    fn check(src: &str) -> bool {
        let e = parse(src).expect("filter parses");
        eval(&e, &ticket(), &EvalCtx { current_user_id: 7 })
    }

    #[test]
    fn eq_and_neq_compare_strings_and_numbers_loosely() {
        assert!(check("eq(ticket.status, 'open')"));
        assert!(!check("eq(ticket.status, 'closed')"));
        assert!(check("neq(ticket.status, 'closed')"));
        assert!(check("eq(ticket.assignee_user.id, 7)"));
        assert!(check("eq(ticket.assignee_user.id, '7')"));
        assert!(check("eq(ticket.id, 42)"));
        assert!(!check("eq(ticket.assignee_team.id, 3)"));
        assert!(check("neq(ticket.assignee_team.id, 3)"));
        assert!(check("eq(ticket.assignee_team.id, null)"));
        assert!(
            !check("eq(ticket.status, 'Open')"),
            "strings are case-sensitive"
        );
    }

    #[test]
    fn current_user_template_matches_the_requesting_user() {
        assert!(check("eq(ticket.assignee_user.id, '{{current_user.id}}')"));
        let e = parse("eq(ticket.assignee_user.id, '{{current_user.id}}')").expect("parses");
        assert!(!eval(&e, &ticket(), &EvalCtx { current_user_id: 8 }));
    }

    #[test]
    fn gte_lte_compare_datetimes_as_times() {
        assert!(check(
            "gte(ticket.updated_datetime, '2024-02-14T21:31:12.367229+00:00')"
        ));
        assert!(check(
            "gte(ticket.updated_datetime, '2024-02-14T22:31:12+01:00')"
        ));
        assert!(!check(
            "gte(ticket.updated_datetime, '2024-02-15T00:00:00')"
        ));
        assert!(check("lte(ticket.updated_datetime, '2024-02-15T00:00:00')"));
        assert!(check("lte(ticket.id, 42) && gte(ticket.id, 42)"));
        assert!(
            !check("lte(ticket.assignee_team.id, 100)"),
            "null compares false"
        );
    }

    #[test]
    fn contains_operators_work_on_tag_names() {
        assert!(check("containsAll(ticket.tags.name, ['vip', 'refund'])"));
        assert!(!check("containsAll(ticket.tags.name, ['vip', 'bot'])"));
        assert!(check("containsAny(ticket.tags.name, ['bot', 'vip'])"));
        assert!(!check("containsAny(ticket.tags.name, ['bot'])"));
        assert!(check("notContainsAll(ticket.tags.name, ['vip', 'bot'])"));
        assert!(!check("notContainsAll(ticket.tags.name, ['vip'])"));
        assert!(check("notContainsAny(ticket.tags.name, ['bot', 'spam'])"));
        assert!(!check("notContainsAny(ticket.tags.name, ['refund'])"));
        assert!(
            check("eq(ticket.tags.name, 'vip')"),
            "eq on a list means contains"
        );
    }

    #[test]
    fn is_empty_is_true_for_null_missing_and_empty_lists() {
        assert!(check("isEmpty(ticket.assignee_team.id)"));
        assert!(check("isEmpty(ticket.language)"));
        assert!(!check("isEmpty(ticket.assignee_user.id)"));
        assert!(!check("isEmpty(ticket.tags.name)"));
        let untagged = json!({"tags": []});
        let e = parse("isEmpty(ticket.tags.name)").expect("parses");
        assert!(eval(&e, &untagged, &EvalCtx { current_user_id: 1 }));
    }

    #[test]
    fn starts_and_ends_with_match_string_ends() {
        assert!(check("startsWith(ticket.subject, 'Where')"));
        assert!(!check("startsWith(ticket.subject, 'where')"));
        assert!(check("endsWith(ticket.customer.email, '@x.com')"));
        assert!(!check("endsWith(ticket.customer.email, '@y.com')"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // false && false || true  => (false && false) || true => true
        assert!(check(
            "eq(ticket.status, 'closed') && eq(ticket.channel, 'email') || eq(ticket.id, 42)"
        ));
        // true || false && false => true || (false && false) => true
        assert!(check(
            "eq(ticket.id, 42) || eq(ticket.status, 'closed') && eq(ticket.channel, 'email')"
        ));
        let e = parse("eq(ticket.id, 1) || eq(ticket.id, 2) && eq(ticket.id, 3)").expect("parses");
        assert!(matches!(e, Expr::Or(_, _)));
    }

    #[test]
    fn parentheses_override_precedence() {
        assert!(!check(
            "(eq(ticket.id, 42) || eq(ticket.status, 'closed')) && eq(ticket.channel, 'email')"
        ));
        assert!(check(
            "eq(ticket.channel, 'chat') && (eq(ticket.status, 'closed') || eq(ticket.id, 42))"
        ));
    }

    #[test]
    fn the_daemon_view_expression_parses_and_matches() {
        assert!(check(
            "eq(ticket.channel, 'chat') && eq(ticket.status, 'open') && eq(ticket.assignee_user.id, '{{current_user.id}}')"
        ));
    }

    #[test]
    fn errors_name_the_problem_and_position() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty"),
            ("eq(ticket.status, 'open'", 24, "')'"),
            ("foo(ticket.status, 'open')", 0, "unknown function 'foo'"),
            ("eq(ticket.nope, 'open')", 3, "unknown field 'ticket.nope'"),
            ("eq(ticket.status, open)", 18, "quotes"),
            ("eq(ticket.status, 'open') & eq(ticket.id, 1)", 26, "'&&'"),
            ("eq(ticket.status, 'open) ", 18, "unterminated"),
            ("containsAny(ticket.tags.name, 'vip')", 30, "list"),
            ("eq(ticket.status, ['a'])", 18, "single value"),
            (
                "eq(ticket.status, 'open') eq(ticket.id, 1)",
                26,
                "after the expression",
            ),
            ("eq(ticket.status)", 16, "','"),
            ("eq(ticket.status, 'a') && ", 26, "end of expression"),
            ("eq(ticket.status, 'a') # x", 23, "unexpected character"),
        ];
        for (src, pos, needle) in cases {
            let err = parse(src).expect_err(src);
            assert_eq!(err.pos, *pos, "position for {src:?}: {err}");
            assert!(err.msg.contains(needle), "message for {src:?}: {err}");
        }
    }

    #[test]
    fn hostile_nesting_and_length_are_errors_not_stack_overflows() {
        let deep = format!(
            "{}eq(ticket.status, 'open'){}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        let e = parse(&deep).unwrap_err();
        assert!(e.msg.contains("nested more than 32"), "{e:?}");
        let long = vec!["eq(ticket.status, 'open')"; 100_000].join(" && ");
        let e = parse(&long).unwrap_err();
        assert!(e.msg.contains("more than 256 calls"), "{e:?}");
        let fine = format!(
            "{}eq(ticket.status, 'open'){}",
            "(".repeat(32),
            ")".repeat(32)
        );
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn the_cheap_field_check_never_drops_a_ticket_eval_keeps() {
        let ctx = EvalCtx { current_user_id: 7 };
        let exprs = [
            "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, 7)",
            "eq(ticket.assignee_user.id, '{{current_user.id}}') && eq(ticket.status, 'open')",
            "eq(ticket.status, 'open') || eq(ticket.status, 'closed')",
            "neq(ticket.status, 'open') && eq(ticket.channel, 'chat')",
        ];
        let tickets = [
            json!({"status": "open", "channel": "chat", "assignee_user": {"id": 7}}),
            json!({"status": "open", "channel": "chat", "assignee_user": {"id": "7"}}),
            json!({"status": "closed", "channel": "chat", "assignee_user": {"id": 7}}),
            json!({"status": "open", "channel": "email", "assignee_user": null}),
            json!({"status": "open", "channel": "chat", "assignee_user": {"id": 8}}),
        ];
        let mut skipped = 0;
        for src in exprs {
            let e = parse(src).unwrap();
            for t in &tickets {
                let cheap = may_hold(&e, "ticket.status", t.get("status"), &ctx)
                    && may_hold(
                        &e,
                        "ticket.assignee_user.id",
                        t["assignee_user"].get("id"),
                        &ctx,
                    );
                if !cheap {
                    skipped += 1;
                    assert!(!eval(&e, t, &ctx), "{src} dropped {t}");
                }
            }
        }
        // It does skip: closed tickets and other assignees under the daemon's own filter.
        assert!(skipped >= 4, "{skipped}");
    }
}
