//! The checks every condition and switch expression passes before it may run: bounded length
//! and nesting (so that parsing cannot exhaust the stack), CEL syntax, and a cost within
//! [`EXPRESSION_COST_LIMIT`] with every variable at its assumed size ([`crate::cost`]).

use cel::common::ast::{EntryExpr, Expr, IdedEntryExpr, IdedExpr};

use crate::cost::{EXPRESSION_COST_LIMIT, VariableSizes, estimate_cost};
use crate::pattern;

/// The longest condition or switch expression accepted.
pub const MAX_EXPRESSION_LEN: usize = 1024;
/// The deepest nesting of brackets accepted in an expression.
pub const MAX_EXPRESSION_DEPTH: usize = 32;

/// Why an expression is refused; the text completes "The condition ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpressionError {
    /// Longer than [`MAX_EXPRESSION_LEN`] bytes.
    #[error("is longer than {MAX_EXPRESSION_LEN} bytes")]
    TooLong,
    /// Brackets nested deeper than [`MAX_EXPRESSION_DEPTH`].
    #[error("nests deeper than {MAX_EXPRESSION_DEPTH} levels")]
    TooDeep,
    /// Operators chained into a syntax tree deeper than [`MAX_TREE_DEPTH`] levels.
    #[error("chains operators deeper than {MAX_TREE_DEPTH} levels")]
    TooComplex,
    /// Not CEL; the parser's message.
    #[error("does not parse: {0}")]
    Unparsable(String),
    /// A `matches()` whose pattern is not a string literal: a pattern that comes from the
    /// values of an execution could not be checked before it runs.
    #[error("calls matches() with a pattern that is not a string literal")]
    DynamicPattern,
    /// A `matches()` pattern that is not a regular expression, or compiles to a program
    /// larger than [`REGEX_SIZE_LIMIT`](crate::REGEX_SIZE_LIMIT).
    #[error("calls matches(), but {0}")]
    BadPattern(String),
    /// Its estimated cost exceeds [`EXPRESSION_COST_LIMIT`].
    #[error(
        "may cost up to {cost} units to evaluate, more than the limit of {limit} \
         (comprehensions such as all, exists and map multiply the cost of their body by \
         the size of what they iterate)"
    )]
    TooCostly {
        /// The estimate, in cost units.
        cost: u64,
        /// The limit it exceeds.
        limit: u64,
    },
}

/// Checks `expression` and compiles it: bounded length and nesting, CEL syntax, then the
/// cost estimate with every variable at its assumed size.
pub fn compile_expression(expression: &str) -> Result<cel::Program, ExpressionError> {
    if expression.len() > MAX_EXPRESSION_LEN {
        return Err(ExpressionError::TooLong);
    }
    let mut depth = 0usize;
    for byte in expression.bytes() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_EXPRESSION_DEPTH {
                    return Err(ExpressionError::TooDeep);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    // CEL's parser recurses deeply for each bracket level (32 levels overflow a 2 MiB stack
    // in a debug build), so it runs on a thread of its own with room to spare.
    let source = expression.to_owned();
    std::thread::Builder::new()
        .name("cel-parse".to_owned())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || checked_program(&source))
        .map_err(|error| ExpressionError::Unparsable(format!("no parser thread: {error}")))?
        .join()
        .unwrap_or_else(|_| Err(ExpressionError::Unparsable("the parser failed".to_owned())))
}

/// The stack of the thread that parses an expression.
const PARSER_STACK_BYTES: usize = 32 << 20;

/// Parses, then bounds the depth of the tree (evaluation recurses once per level) and its
/// cost.
fn checked_program(expression: &str) -> Result<cel::Program, ExpressionError> {
    let program = cel::Program::compile(expression)
        .map_err(|error| ExpressionError::Unparsable(error.to_string().trim().to_owned()))?;
    let mut deepest = 0;
    let mut pattern_error = None;
    visit(program.expression(), |expr, depth| {
        deepest = deepest.max(depth);
        if let Expr::Call(call) = &expr.expr
            && pattern_error.is_none()
        {
            pattern_error = match pattern::literal_pattern(call) {
                None => None,
                Some(None) => Some(ExpressionError::DynamicPattern),
                Some(Some(pattern)) => pattern::size_bound(pattern)
                    .err()
                    .map(ExpressionError::BadPattern),
            };
        }
    });
    if deepest > MAX_TREE_DEPTH {
        return Err(ExpressionError::TooComplex);
    }
    if let Some(error) = pattern_error {
        return Err(error);
    }
    let cost = estimate_cost(program.expression(), &VariableSizes::assumed());
    if cost > EXPRESSION_COST_LIMIT {
        return Err(ExpressionError::TooCostly {
            cost,
            limit: EXPRESSION_COST_LIMIT,
        });
    }
    Ok(program)
}

/// The deepest syntax tree accepted: evaluation recurses once per level, on whatever thread
/// runs it.
pub const MAX_TREE_DEPTH: usize = 64;

/// Calls `seen` with every node of a syntax tree and its depth (the root is at 1), without
/// recursion (the tree may be a thousand levels deep).
fn visit<'e>(root: &'e IdedExpr, mut seen: impl FnMut(&'e IdedExpr, usize)) {
    let mut pending = vec![(root, 1usize)];
    while let Some((expr, depth)) = pending.pop() {
        seen(expr, depth);
        let below = depth + 1;
        match &expr.expr {
            Expr::Unspecified | Expr::Literal(_) | Expr::Ident(_) => {}
            Expr::Select(select) => pending.push((&select.operand, below)),
            Expr::List(list) => pending.extend(list.elements.iter().map(|e| (e, below))),
            Expr::Map(map) => pending.extend(entry_values(&map.entries).map(|e| (e, below))),
            Expr::Struct(structure) => {
                pending.extend(entry_values(&structure.entries).map(|e| (e, below)));
            }
            Expr::Call(call) => {
                pending.extend(call.target.iter().map(|target| (&**target, below)));
                pending.extend(call.args.iter().map(|e| (e, below)));
            }
            Expr::Comprehension(comprehension) => pending.extend(
                [
                    &comprehension.iter_range,
                    &comprehension.accu_init,
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ]
                .into_iter()
                .map(|e| (e, below)),
            ),
        }
    }
}

fn entry_values(entries: &[IdedEntryExpr]) -> impl Iterator<Item = &IdedExpr> {
    entries
        .iter()
        .flat_map(|entry| match &entry.expr {
            EntryExpr::StructField(field) => [Some(&field.value), None],
            EntryExpr::MapEntry(entry) => [Some(&entry.key), Some(&entry.value)],
        })
        .flatten()
}

/// [`compile_expression`] for callers that need only the verdict, as text.
pub fn parse_expression(expression: &str) -> Result<(), String> {
    compile_expression(expression)
        .map(|_| ())
        .map_err(|error| error.to_string())
}
