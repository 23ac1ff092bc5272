//! Tests of the cost estimate: everyday conditions are cheap, the probe's are over the limit,
//! real sizes replace assumed ones, and hostile shapes are refused without a stack overflow.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;

/// Parses on a thread with a large stack, as `compile_expression` does.
fn parse(expression: &str) -> cel::Program {
    let source = expression.to_owned();
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || cel::Program::compile(&source).unwrap())
        .unwrap()
        .join()
        .unwrap()
}

fn cost(expression: &str) -> u64 {
    let program = parse(expression);
    estimate_cost(program.expression(), &VariableSizes::assumed())
}

fn cost_with(expression: &str, name: &str, value: serde_json::Value) -> u64 {
    let program = parse(expression);
    let mut sizes = VariableSizes::assumed();
    sizes.set(name, Size::of(&value));
    estimate_cost(program.expression(), &sizes)
}

/// `levels` nested `.all` over a list literal of `items` elements.
fn nested_all(levels: usize, items: usize) -> String {
    let list = format!(
        "[{}]",
        (0..items)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut expression = "true".to_owned();
    for level in 0..levels {
        expression = format!("{list}.all(v{level}, {expression})");
    }
    expression
}

#[test]
fn everyday_conditions_are_cheap() {
    for expression in [
        "user.mfa_enabled",
        "user.mfa_enabled && 'totp' in user.mfa_methods",
        "inputs.country == 'DE'",
        "attributes.age > 40",
        "request.origin.endsWith('example.com')",
        "has(attributes.plan) && attributes.plan in ['pro', 'team']",
        "user.groups.exists(g, g == 'admins')",
        "inputs.email.matches('^[a-z.]+@example\\\\.com$')",
    ] {
        let estimate = cost(expression);
        assert!(
            estimate < EXPRESSION_COST_LIMIT / 10,
            "{expression}: {estimate}"
        );
    }
}

#[test]
fn nesting_multiplies_the_cost_of_a_comprehension() {
    let one = cost(&nested_all(1, 10));
    let two = cost(&nested_all(2, 10));
    let three = cost(&nested_all(3, 10));
    assert!(two > one * 9, "{one} then {two}");
    assert!(three > two * 9, "{two} then {three}");
}

#[test]
fn the_probes_expressions_are_over_the_limit() {
    // Ten nested `.all` over ten items: 10^10 steps, 33 s of CPU before the limit existed.
    assert!(cost(&nested_all(10, 10)) > EXPRESSION_COST_LIMIT);
    // Twenty: 10^20, which overflows any integer count; the estimate saturates instead.
    assert!(cost(&nested_all(20, 10)) > EXPRESSION_COST_LIMIT);
    // `.map` over 10^7 items, built from nested maps.
    let ten = "[0,1,2,3,4,5,6,7,8,9]";
    let mut expression = "v0".to_owned();
    for level in 0..7 {
        expression = format!("{ten}.map(v{level}, {expression})");
    }
    let expression = format!("size({expression}) > 0");
    assert!(cost(&expression) > EXPRESSION_COST_LIMIT, "{expression}");
}

#[test]
fn one_context_list_fits_but_two_nested_do_not() {
    let one = cost("user.groups.exists(g, g in ['admins', 'owners', 'staff'])");
    assert!(one <= EXPRESSION_COST_LIMIT / 5, "{one}");
    // 64 × 64 iterations at the assumed sizes: about 4 ms of CPU on this machine.
    let two = cost("user.groups.exists(g, attributes.allowed.exists(a, a == g))");
    assert!(two > EXPRESSION_COST_LIMIT, "{two}");
}

#[test]
fn concatenation_grows_what_it_builds() {
    // Doubling a list in each of several nested maps makes its copies ever larger.
    let small = cost("[1, 2].map(x, [1, 2] + [3, 4]).size() > 0");
    let large = cost("[1, 2].map(x, user.list + user.list).size() > 0");
    assert!(large > small);
}

#[test]
fn real_sizes_replace_the_assumed_ones() {
    let expression = "user.groups.exists(g, g == 'admins')";
    let small = cost_with(expression, "user", json!({"groups": ["a", "b"]}));
    let assumed = cost(expression);
    let groups: Vec<String> = (0..5_000).map(|i| format!("group-{i}")).collect();
    let large = cost_with(expression, "user", json!({ "groups": groups }));
    assert!(small < assumed, "{small} vs {assumed}");
    assert!(large > assumed, "{large} vs {assumed}");
    // Iterating a 5,000-item list inside another over the same list exceeds the limit.
    let nested = "user.groups.exists(g, user.groups.exists(h, g == h))";
    assert!(cost_with(nested, "user", json!({ "groups": groups })) > EXPRESSION_COST_LIMIT);
}

#[test]
fn sizes_of_json_values_bound_every_depth() {
    let size = Size::of(&json!({"a": [[1, 2, 3], [4]], "b": "hello"}));
    assert_eq!(size.len(), 2.0);
    let item = size.item();
    assert_eq!(item.len(), 5.0, "the longest of 'a', [..] and 'hello'");
    assert_eq!(item.item().len(), 3.0);
    assert_eq!(item.item().item().len(), 1.0);
}

#[test]
fn hostile_shapes_are_refused_without_overflowing_the_stack() {
    use crate::{ExpressionError, compile_expression};
    // This test runs on a 2 MiB test thread: parsing must not recurse on it.
    let refused = [
        (format!("{}1{}", "(".repeat(33), ")".repeat(33)), "parens"),
        (format!("{}1{}", "[".repeat(33), "]".repeat(33)), "lists"),
        (nested_all(20, 10), "twenty nested .all"),
        (format!("{}1", "1+".repeat(500)), "five hundred additions"),
        (format!("a{}", ".b".repeat(500)), "five hundred selections"),
    ];
    for (expression, what) in refused {
        let error = compile_expression(&expression).err();
        assert!(
            matches!(
                error,
                Some(
                    ExpressionError::TooComplex
                        | ExpressionError::TooDeep
                        | ExpressionError::TooCostly { .. }
                )
            ),
            "{what}: {error:?}"
        );
    }
    assert!(compile_expression(&format!("{}1{}", "(".repeat(32), ")".repeat(32))).is_ok());
}

#[test]
fn patterns_are_charged_by_the_size_of_their_program() {
    let small = cost("inputs.email.matches('^[a-z.]+@example[.]com$')");
    let big = cost("inputs.email.matches('\\\\p{L}')");
    assert!(big > small * 10, "{small} {big}");
    // CEL compiles the pattern at every call: nine large ones are over the limit, although
    // the expression is short.
    let nine = "[1, 2, 3, 4, 5, 6, 7, 8, 9].all(x, 'a'.matches('\\\\p{L}'))";
    assert!(cost(nine) > EXPRESSION_COST_LIMIT, "{}", cost(nine));
    // A small pattern in a comprehension over a real list fits.
    let groups = json!((0..64).map(|i| format!("group-{i}")).collect::<Vec<_>>());
    let filter = "user.groups.filter(g, g.matches('^group-[0-9]+$')).size() > 0";
    let estimate = cost_with(filter, "user", json!({ "groups": groups }));
    assert!(estimate < EXPRESSION_COST_LIMIT, "{estimate}");
}

#[test]
fn patterns_must_be_small_literal_regular_expressions() {
    use crate::{ExpressionError, compile_expression};
    // `\w{1000}` took 130 ms to refuse at each evaluation with the regex crate's default
    // limit; both call forms are checked.
    for expression in [
        "'a'.matches('\\\\w{1000}')",
        "matches('a', '(\\\\w{100}){100}')",
        "inputs.name.matches('[')",
    ] {
        let error = compile_expression(expression).err();
        assert!(
            matches!(error, Some(ExpressionError::BadPattern(_))),
            "{expression}: {error:?}"
        );
    }
    for expression in [
        "inputs.name.matches(inputs.pattern)",
        "matches('a', 'b' + 'c')",
    ] {
        let error = compile_expression(expression).err();
        assert!(
            matches!(error, Some(ExpressionError::DynamicPattern)),
            "{expression}: {error:?}"
        );
    }
    assert!(compile_expression("inputs.name.matches('^[A-Za-z ]{1,64}$')").is_ok());
}
