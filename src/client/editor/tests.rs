//! Every key the editor knows, fed as the bytes a terminal sends.

use super::*;

fn editor() -> Editor {
    let mut editor = Editor::new(64);
    editor.start_line("> ", false);
    editor
}

/// Feeds `bytes` and returns every action they produce.
fn type_bytes(editor: &mut Editor, bytes: &[u8]) -> Vec<Action> {
    editor.feed(bytes);
    std::iter::from_fn(|| editor.next_action()).collect()
}

fn submit(bytes: &[u8]) -> String {
    let mut editor = editor();
    let mut all = bytes.to_vec();
    all.push(b'\r');
    match type_bytes(&mut editor, &all).as_slice() {
        [Action::Submit(line)] => line.clone(),
        other => panic!("expected one submit, got {other:?}"),
    }
}

#[test]
fn typing_and_enter_submit_the_line() {
    assert_eq!(submit(b"/send bob hi"), "/send bob hi");
    assert_eq!(submit(b""), "");
}

#[test]
fn backspace_and_delete_remove_one_character() {
    assert_eq!(submit(b"abc\x7f"), "ab");
    assert_eq!(submit(b"abc\x08\x08"), "a");
    assert_eq!(submit(b"\x7f\x7fa"), "a");
    // Left twice then Delete removes the 'b'.
    assert_eq!(submit(b"abc\x1b[D\x1b[D\x1b[3~"), "ac");
}

#[test]
fn arrows_move_the_cursor_for_insertion() {
    assert_eq!(submit(b"ac\x1b[Db"), "abc");
    assert_eq!(submit(b"bc\x1b[D\x1b[D\x1b[Da"), "abc");
    assert_eq!(submit(b"ab\x1b[D\x1b[C\x1b[Cc"), "abc");
    // SS3 arrows, as some terminals send in application mode.
    assert_eq!(submit(b"ac\x1bODb"), "abc");
}

#[test]
fn ctrl_a_and_ctrl_e_go_to_the_ends() {
    assert_eq!(submit(b"bc\x01a\x05d"), "abcd");
    assert_eq!(submit(b"bc\x1b[Ha\x1b[Fd"), "abcd");
    assert_eq!(submit(b"bc\x1b[1~a\x1b[4~d"), "abcd");
}

#[test]
fn ctrl_u_clears_before_the_cursor_and_ctrl_k_after() {
    assert_eq!(submit(b"hello world\x15"), "");
    assert_eq!(submit(b"hello world\x1b[D\x1b[D\x15"), "ld");
    assert_eq!(submit(b"hello world\x01\x1b[C\x0b"), "h");
}

#[test]
fn ctrl_w_deletes_the_word_before_the_cursor() {
    assert_eq!(submit(b"/send bob hello  \x17"), "/send bob ");
}

#[test]
fn utf8_split_across_reads_is_one_character() {
    let mut editor = editor();
    let bytes = "é中😀".as_bytes();
    for &b in bytes {
        assert_eq!(type_bytes(&mut editor, &[b]), vec![]);
    }
    assert_eq!(
        type_bytes(&mut editor, b"\x7f\r"),
        vec![Action::Submit("é中".into())]
    );
}

#[test]
fn an_escape_sequence_split_across_reads_still_moves_the_cursor() {
    let mut editor = editor();
    type_bytes(&mut editor, b"ac\x1b");
    type_bytes(&mut editor, b"[");
    assert_eq!(
        type_bytes(&mut editor, b"Db\r"),
        vec![Action::Submit("abc".into())]
    );
}

#[test]
fn invalid_utf8_and_unknown_sequences_are_skipped() {
    assert_eq!(submit(b"a\xffb\xc3"), "ab");
    // C1 controls, such as U+009B (a one-character CSI to some terminals), are dropped.
    assert_eq!(submit("a\u{9b}2Jb\u{80}".as_bytes()), "a2Jb");
    assert_eq!(submit(b"a\x1b[15~b\x1b[1;5Cc"), "abc");
}

#[test]
fn ctrl_c_clears_a_line_and_interrupts_only_an_empty_one_as_ctrl_d_ends() {
    let mut editor = editor();
    assert_eq!(type_bytes(&mut editor, b"abc\x03"), vec![]);
    assert_eq!(editor.render(80), "\r> \x1b[K");
    assert_eq!(type_bytes(&mut editor, b"\x03"), vec![Action::Interrupt]);
    assert_eq!(type_bytes(&mut editor, b"\x04"), vec![Action::EndOfInput]);
    // On a non-empty line Ctrl-D deletes under the cursor, like Delete.
    assert_eq!(submit(b"ab\x01\x04"), "b");
}

#[test]
fn keys_after_an_action_wait_until_asked_for() {
    let mut editor = editor();
    editor.feed(b"one\rtwo\r");
    assert_eq!(editor.next_action(), Some(Action::Submit("one".into())));
    assert!(editor.has_complete_key());
    assert_eq!(editor.next_action(), Some(Action::Submit("two".into())));
    assert!(!editor.has_complete_key());
}

#[test]
fn the_line_is_capped_in_bytes_and_rings_the_bell() {
    let mut editor = Editor::new(4);
    editor.start_line("> ", false);
    type_bytes(&mut editor, "abé".as_bytes());
    type_bytes(&mut editor, b"x");
    assert!(editor.render(80).contains('\x07'));
    assert!(!editor.render(80).contains('\x07'), "the bell rings once");
    assert_eq!(
        type_bytes(&mut editor, b"\x7fc\r"),
        vec![Action::Submit("abc".into())]
    );
}

#[test]
fn render_draws_prompt_line_and_puts_the_cursor_back() {
    let mut editor = editor();
    type_bytes(&mut editor, b"hello\x1b[D\x1b[D");
    assert_eq!(editor.render(80), "\r> hello\x1b[K\x1b[2D");
    type_bytes(&mut editor, b"\x05");
    assert_eq!(editor.render(80), "\r> hello\x1b[K");
}

#[test]
fn a_secret_line_shows_nothing_typed() {
    let mut editor = Editor::new(64);
    editor.start_line("password: ", true);
    type_bytes(&mut editor, b"hunter22");
    let drawn = editor.render(80);
    assert_eq!(drawn, "\rpassword: \x1b[K");
    assert_eq!(
        type_bytes(&mut editor, b"\r"),
        vec![Action::Submit("hunter22".into())]
    );
}

#[test]
fn a_long_line_scrolls_sideways_to_keep_the_cursor_in_view() {
    let mut editor = editor();
    type_bytes(&mut editor, b"abcdefghijklmnopqrstuvwxyz");
    // 12 columns: 2 for the prompt, 1 spare, 9 for text and the cursor after it.
    let drawn = editor.render(12);
    assert_eq!(drawn, "\r> stuvwxyz\x1b[K");
    type_bytes(&mut editor, b"\x01");
    assert_eq!(editor.render(12), "\r> abcdefghi\x1b[K\x1b[9D");
}

#[test]
fn wide_characters_count_two_columns() {
    let mut editor = editor();
    type_bytes(&mut editor, "中文\x1b[D".as_bytes());
    assert_eq!(editor.render(80), "\r> 中文\x1b[K\x1b[2D");
}

#[test]
fn dirty_tracks_whether_a_redraw_is_needed() {
    let mut editor = editor();
    editor.render(80);
    assert!(!editor.is_dirty());
    type_bytes(&mut editor, b"\x1b[15~");
    assert!(!editor.is_dirty(), "an ignored key changes nothing");
    type_bytes(&mut editor, b"a");
    assert!(editor.is_dirty());
}

mod arbitrary_keys {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever bytes a terminal sends, split however, the editor neither panics nor lets
        /// the line outgrow its limit, and a drawn row never holds a control character but
        /// the ones it writes itself.
        #[test]
        fn never_panic_and_stay_bounded(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 0..24),
            columns in 0usize..120,
        ) {
            let mut editor = Editor::new(32);
            editor.start_line("> ", false);
            for chunk in &chunks {
                editor.feed(chunk);
                while let Some(action) = editor.next_action() {
                    if let Action::Submit(line) = action {
                        prop_assert!(line.len() <= 32);
                    }
                }
                prop_assert!(editor.line_bytes <= 32);
                prop_assert!(editor.cursor <= editor.line.len());
                let row = editor.render(columns);
                let stray = row
                    .replace("\x1b[K", "")
                    .chars()
                    .filter(|&c| c.is_control() && c != '\r' && c != '\x07' && c != '\x1b' && c != '\t')
                    .count();
                prop_assert_eq!(stray, 0);
            }
        }
    }
}

#[test]
fn a_partial_key_is_not_a_complete_one() {
    let mut editor = editor();
    for partial in [
        &b"\x1b"[..],
        b"\x1b[",
        b"\x1b[1",
        "é".as_bytes().split_at(1).0,
    ] {
        editor.feed(partial);
        assert_eq!(editor.next_action(), None);
        assert!(!editor.has_complete_key(), "{partial:?}");
        // The rest of it arrives: the key is taken.
        editor.feed(b"\x1b[15~");
        assert_eq!(editor.next_action(), None);
    }
    editor.feed(b"x");
    assert!(editor.has_complete_key());
}

#[test]
fn tab_completes_commands_and_the_names_learned() {
    let mut editor = editor();
    editor.learn(["bob".to_string(), "#team".to_string()]);
    let typed = type_bytes(&mut editor, b"/se\tb\t#t\thi\r");
    assert_eq!(typed, vec![Action::Submit("/send bob #team hi".into())]);
    // Nothing to complete rings the bell and changes nothing.
    assert_eq!(type_bytes(&mut editor, b"zz\t"), vec![]);
    assert!(editor.render(80).starts_with("\r\x07> zz"));
}

#[test]
fn up_and_down_recall_earlier_lines_and_the_one_being_typed() {
    let mut editor = editor();
    for line in ["/send bob one", "/send bob two"] {
        type_bytes(&mut editor, format!("{line}\r").as_bytes());
        editor.remember(line);
    }
    type_bytes(&mut editor, b"half");
    type_bytes(&mut editor, b"\x1b[A\x1b[A");
    assert_eq!(editor.render(80), "\r> /send bob one\x1b[K");
    type_bytes(&mut editor, b"\x1b[B\x1b[B");
    assert_eq!(editor.render(80), "\r> half\x1b[K");
    // Up, an edit, Enter: the edited line is what is submitted.
    assert_eq!(
        type_bytes(&mut editor, b"\x15\x1b[A!\r"),
        vec![Action::Submit("/send bob two!".into())]
    );
}

#[test]
fn a_refused_line_comes_back_and_the_prompt_changes_around_it() {
    let mut editor = editor();
    type_bytes(&mut editor, b"hello\r");
    editor.restore("hello");
    editor.set_prompt("bob> ");
    assert_eq!(editor.render(80), "\rbob> hello\x1b[K");
}
