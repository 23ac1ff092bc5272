//! What a cost unit takes: expressions near the cost limit, evaluated with cel over 64-item
//! lists of 48-byte strings (the sizes the validator assumes), beside their estimates. The
//! figures, and the time per unit they give, are in docs/performance.md.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use flow_model::{Size, VariableSizes, estimate_cost};

fn cases() -> Vec<(&'static str, String)> {
    let ten = "[0,1,2,3,4,5,6,7,8,9]";
    vec![
        (
            "two_nested_exists_over_64",
            "user.groups.exists(g, user.a.exists(a, a == g + 'x'))".to_owned(),
        ),
        (
            "two_nested_all_over_64",
            "user.groups.all(g, user.a.all(a, a.size() > 0))".to_owned(),
        ),
        (
            "four_nested_map_over_10",
            format!("{ten}.map(a, {ten}.map(b, {ten}.map(c, {ten}.map(d, d)))).size() > 0"),
        ),
        (
            "filter_matches_over_64",
            "user.groups.filter(g, g.matches('^group-name-[0-9]+-padding')).size() > 0".to_owned(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let groups: Vec<String> = (0..64)
        .map(|i| format!("group-name-{i:02}-padding-padding-padding-pad"))
        .collect();
    let user = serde_json::json!({"groups": groups, "a": groups});
    let mut group = c.benchmark_group("expression_cost");
    group.sample_size(20);
    for (name, expression) in cases() {
        let program = cel::Program::compile(&expression).unwrap();
        let mut sizes = VariableSizes::assumed();
        sizes.set("user", Size::of(&user));
        let units = estimate_cost(program.expression(), &sizes);
        println!("{name}: {units} units");
        let mut context = cel::Context::default();
        context.add_variable("user", &user).unwrap();
        group.bench_function(name, |b| b.iter(|| black_box(program.execute(&context))));
    }
    group.bench_function("estimate_with_real_sizes", |b| {
        let program = cel::Program::compile(&cases()[0].1).unwrap();
        b.iter(|| {
            let mut sizes = VariableSizes::assumed();
            sizes.set("user", Size::of(black_box(&user)));
            estimate_cost(program.expression(), &sizes)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
