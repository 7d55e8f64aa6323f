//! criterion: the nom command parser on the lines people type most.

use chat_domain::command::parse;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn parse_lines(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, line) in [
        ("send", "/send bob hello there, how is it going today?"),
        ("send_to_group", "/send #team standup in five minutes"),
        ("history", "/history bob 50"),
        ("create", "/create #team alice bob carol dave"),
        ("not_a_command", "hello there"),
    ] {
        group.bench_function(name, |b| b.iter(|| parse(black_box(line))));
    }
    group.finish();
}

criterion_group!(benches, parse_lines);
criterion_main!(benches);
