//! Criterion benchmark: validate and compile generated graphs (filled in below).

fn main() {}
