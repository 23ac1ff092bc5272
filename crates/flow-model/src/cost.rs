//! What a CEL expression may cost to evaluate, estimated from its syntax tree before it runs.
//!
//! CEL has no loops, but its comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`)
//! nest, and ten nested `.all` over ten-element lists make 10¹⁰ steps. The estimate walks the
//! tree once, carrying an upper bound on the size of every value (string bytes, list items,
//! map entries, and the same for their elements), and multiplies the cost of a comprehension's
//! body by the size of the range it iterates. The validator estimates with every variable at
//! [`ASSUMED_VALUE_SIZE`]; the engine estimates again with the sizes of the values at hand
//! before it evaluates, so the bound holds whatever the variables hold.
//!
//! One cost unit is about one step of the interpreter (a literal, a lookup, an item
//! compared or copied); docs/performance.md gives what a unit takes on this machine.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue, operators};

/// The most an expression may cost, in cost units: at most about 3.5 ms of CPU on the
/// reference machine (docs/performance.md).
pub const EXPRESSION_COST_LIMIT: u64 = 50_000;

/// The size the validator assumes for every value an expression reads from its variables:
/// strings of this many bytes, lists and maps of this many items, nested without end.
pub const ASSUMED_VALUE_SIZE: u64 = 64;

/// An upper bound on the size of a value: its length (bytes of a string, items of a list or a
/// map; 1 for a scalar) and, for a collection, the largest of its items.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    len: f64,
    item: Option<Arc<Size>>,
    /// Items of any depth are as large as the value itself (the validator's assumption).
    open: bool,
}

impl Size {
    /// A scalar: a number, a boolean, null.
    fn scalar() -> Self {
        Self::sized(1.0, None)
    }

    fn sized(len: f64, item: Option<Size>) -> Self {
        Self {
            len,
            item: item.map(Arc::new),
            open: false,
        }
    }

    /// What the validator assumes of a variable: [`ASSUMED_VALUE_SIZE`] at every depth.
    pub fn assumed() -> Self {
        Self {
            len: ASSUMED_VALUE_SIZE as f64,
            item: None,
            open: true,
        }
    }

    /// The size of a JSON value, exactly: for collections, the largest item at each depth.
    pub fn of(value: &serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null | Value::Bool(_) | Value::Number(_) => Self::scalar(),
            Value::String(text) => Self::sized(text.len().max(1) as f64, None),
            Value::Array(items) => Self::collection(items.len(), items.iter().map(Self::of)),
            Value::Object(entries) => Self::collection(
                entries.len(),
                entries.iter().flat_map(|(key, value)| {
                    [Self::sized(key.len() as f64, None), Self::of(value)]
                }),
            ),
        }
    }

    fn collection(len: usize, items: impl Iterator<Item = Size>) -> Self {
        let item = items.reduce(|a, b| a.merge(&b));
        Self::sized(len.max(1) as f64, item)
    }

    /// How many items an iteration over this value visits, or how many bytes or items an
    /// operation over it touches.
    fn len(&self) -> f64 {
        self.len
    }

    /// The bound on each item of this value.
    fn item(&self) -> Size {
        if self.open {
            return self.clone();
        }
        match &self.item {
            Some(item) => (**item).clone(),
            None => Self::scalar(),
        }
    }

    /// A bound on either value: for a conditional's branches, a list's items.
    fn merge(&self, other: &Size) -> Size {
        if self.open || other.open {
            return Self {
                len: self.len.max(other.len),
                item: None,
                open: true,
            };
        }
        let item = match (&self.item, &other.item) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (Some(a), None) | (None, Some(a)) => Some((**a).clone()),
            (None, None) => None,
        };
        Self::sized(self.len.max(other.len), item)
    }

    /// The bound on the concatenation of both values (`+` on strings or lists).
    fn concat(&self, other: &Size) -> Size {
        let mut merged = self.merge(other);
        merged.len = self.len + other.len;
        merged
    }
}

/// The sizes of the variables an expression may read, by name; a name not given is assumed
/// to be [`Size::assumed`].
#[derive(Debug, Clone, Default)]
pub struct VariableSizes {
    sizes: HashMap<String, Size>,
}

impl VariableSizes {
    /// Every variable at its assumed size: the validator's view.
    pub fn assumed() -> Self {
        Self::default()
    }

    /// Sets the size of variable `name`.
    pub fn set(&mut self, name: &str, size: Size) {
        self.sizes.insert(name.to_owned(), size);
    }
}

/// The estimated cost of evaluating `expression` with variables of the given sizes, in cost
/// units (saturating at `u64::MAX`).
pub fn estimate_cost(expression: &IdedExpr, variables: &VariableSizes) -> u64 {
    let estimator = Estimator {
        scopes: Vec::new(),
        variables,
    };
    let (cost, _) = estimator.estimate(expression);
    // `as` saturates for floats: infinity becomes u64::MAX.
    cost.ceil() as u64
}

/// Walks an expression; `scopes` holds the comprehension variables in reach, innermost last.
struct Estimator<'a> {
    scopes: Vec<(String, Size)>,
    variables: &'a VariableSizes,
}

impl Estimator<'_> {
    /// The cost of evaluating `expr` and a bound on the size of its value.
    fn estimate(&self, expr: &IdedExpr) -> (f64, Size) {
        match &expr.expr {
            Expr::Unspecified => (1.0, Size::scalar()),
            Expr::Literal(literal) => (1.0, literal_size(literal)),
            Expr::Ident(name) => (1.0, self.lookup(name)),
            Expr::Select(select) => {
                let (cost, operand) = self.estimate(&select.operand);
                let size = if select.test {
                    Size::scalar()
                } else {
                    operand.item()
                };
                (cost + 1.0, size)
            }
            Expr::List(list) => {
                let (cost, item) = self.sum(list.elements.iter());
                (
                    cost + 1.0,
                    Size::collection(list.elements.len(), item.into_iter()),
                )
            }
            Expr::Map(map) => self.entries(&map.entries),
            Expr::Struct(structure) => self.entries(&structure.entries),
            Expr::Call(call) => {
                let mut cost = 1.0;
                let mut sizes = Vec::with_capacity(call.args.len() + 1);
                for operand in call.target.iter().map(|target| &**target).chain(&call.args) {
                    let (operand_cost, size) = self.estimate(operand);
                    cost += operand_cost;
                    sizes.push(size);
                }
                let (work, size) = call_work(&call.func_name, &sizes);
                (cost + work + regex_compile_cost(call), size)
            }
            Expr::Comprehension(comprehension) => self.comprehension(comprehension),
        }
    }

    /// Cost and merged item size of a list of expressions.
    fn sum<'e>(&self, exprs: impl Iterator<Item = &'e IdedExpr>) -> (f64, Option<Size>) {
        let mut cost = 0.0;
        let mut item: Option<Size> = None;
        for expr in exprs {
            let (expr_cost, size) = self.estimate(expr);
            cost += expr_cost;
            item = Some(match item {
                Some(item) => item.merge(&size),
                None => size,
            });
        }
        (cost, item)
    }

    fn entries(&self, entries: &[cel::common::ast::IdedEntryExpr]) -> (f64, Size) {
        let exprs = entries.iter().flat_map(|entry| match &entry.expr {
            EntryExpr::StructField(field) => vec![&field.value],
            EntryExpr::MapEntry(entry) => vec![&entry.key, &entry.value],
        });
        let (cost, item) = self.sum(exprs);
        (
            cost + 1.0,
            Size::collection(entries.len(), item.into_iter()),
        )
    }

    /// A comprehension runs its condition and step once per item of its range, with an
    /// accumulator that grows by at most one item per step (as the macros' do).
    fn comprehension(&self, comprehension: &ComprehensionExpr) -> (f64, Size) {
        let (range_cost, range) = self.estimate(&comprehension.iter_range);
        let iterations = range.len();
        let (init_cost, init) = self.estimate(&comprehension.accu_init);
        let mut accumulator = init.clone();
        accumulator.len = init.len() + iterations;

        let mut inner = Estimator {
            scopes: self.scopes.clone(),
            variables: self.variables,
        };
        inner
            .scopes
            .push((comprehension.iter_var.clone(), range.item()));
        if let Some(second) = &comprehension.iter_var2 {
            inner.scopes.push((second.clone(), range.item()));
        }
        inner
            .scopes
            .push((comprehension.accu_var.clone(), accumulator.clone()));
        // Once more with the items the step appends, so that a `map` of lists is as large
        // as the lists it makes.
        let (_, stepped) = inner.estimate(&comprehension.loop_step);
        if let Some(last) = inner.scopes.last_mut() {
            last.1 = accumulator.merge(&stepped);
            last.1.len = accumulator.len();
        }
        let (condition_cost, _) = inner.estimate(&comprehension.loop_cond);
        let (step_cost, _) = inner.estimate(&comprehension.loop_step);
        let (result_cost, result) = inner.estimate(&comprehension.result);
        let cost = 1.0
            + range_cost
            + init_cost
            + iterations * (condition_cost + step_cost + 1.0)
            + result_cost;
        (cost, result)
    }

    fn lookup(&self, name: &str) -> Size {
        if let Some((_, size)) = self.scopes.iter().rev().find(|(bound, _)| bound == name) {
            return size.clone();
        }
        self.variables
            .sizes
            .get(name)
            .cloned()
            .unwrap_or_else(Size::assumed)
    }
}

fn literal_size(literal: &LiteralValue) -> Size {
    match literal {
        LiteralValue::String(text) => Size::sized(text.inner().len().max(1) as f64, None),
        LiteralValue::Bytes(bytes) => Size::sized(bytes.inner().len().max(1) as f64, None),
        _ => Size::scalar(),
    }
}

/// What visiting one byte or item costs inside a function (a comparison, a copy), in units:
/// far less than an interpreter step, as in Kubernetes' CEL cost model.
const TRAVERSAL_COST: f64 = 0.1;

/// What compiling the largest accepted program
/// ([`REGEX_SIZE_LIMIT`](crate::REGEX_SIZE_LIMIT), about half a millisecond) costs beyond
/// [`REGEX_BUILD_COST`], in units: an eighth of the limit.
const REGEX_COMPILE_COST: f64 = (EXPRESSION_COST_LIMIT / 8) as f64;

/// What building any regular expression costs, however small (about 20 µs: the `regex`
/// crate sets up a whole matching engine), in units.
const REGEX_BUILD_COST: f64 = 300.0;

/// What `matches()` costs to compile its pattern, which CEL does at every call: in proportion
/// to the size of the pattern's program. A pattern the validator refuses (not a literal, not
/// a regular expression, too large) costs more than any limit.
fn regex_compile_cost(call: &cel::common::ast::CallExpr) -> f64 {
    match crate::pattern::literal_pattern(call) {
        None => 0.0,
        Some(Some(pattern)) => match crate::pattern::size_bound(pattern) {
            Ok(bound) => {
                REGEX_BUILD_COST
                    + REGEX_COMPILE_COST * bound as f64 / crate::REGEX_SIZE_LIMIT as f64
            }
            Err(_) => f64::INFINITY,
        },
        Some(None) => f64::INFINITY,
    }
}

/// The work a function does beyond evaluating its operands, and a bound on its result.
/// `sizes` holds the receiver (if any) first, then the arguments.
fn call_work(function: &str, sizes: &[Size]) -> (f64, Size) {
    let total: f64 = sizes.iter().map(Size::len).sum::<f64>() * TRAVERSAL_COST;
    let first = sizes.first().cloned().unwrap_or_else(Size::scalar);
    match function {
        operators::LOGICAL_AND
        | operators::LOGICAL_OR
        | operators::LOGICAL_NOT
        | operators::NOT_STRICTLY_FALSE
        | operators::NEGATE
        | "size" => (1.0, Size::scalar()),
        operators::CONDITIONAL => {
            let branches = sizes.get(1).zip(sizes.get(2));
            let size = branches.map_or_else(Size::scalar, |(a, b)| a.merge(b));
            (1.0, size)
        }
        // Concatenation copies both operands.
        operators::ADD => {
            let size = match sizes {
                [a, b] => a.concat(b),
                _ => Size::scalar(),
            };
            (total, size)
        }
        operators::INDEX | operators::OPT_INDEX | operators::OPT_SELECT => (1.0, first.item()),
        // A regular expression runs over the text (its compilation: `regex_compile_cost`).
        "matches" => {
            let text = first.len();
            let pattern = sizes.get(1).map_or(1.0, Size::len);
            (text * pattern * TRAVERSAL_COST, Size::scalar())
        }
        // Comparisons, `in`, `contains` and the like visit each operand once.
        operators::EQUALS
        | operators::NOT_EQUALS
        | operators::LESS
        | operators::LESS_EQUALS
        | operators::GREATER
        | operators::GREATER_EQUALS
        | operators::IN
        | "contains"
        | "startsWith"
        | "endsWith" => (total, Size::scalar()),
        // Conversions and everything else: linear in their operands, a result no larger.
        _ => {
            let len: f64 = sizes.iter().map(Size::len).sum();
            (total.max(1.0), Size::sized(len.max(32.0), None))
        }
    }
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
