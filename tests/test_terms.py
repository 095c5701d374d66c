"""What unhappy customers complain about: terms markedly more common in low-score
comments, stemmed per language."""

from metrics.terms import Comment, comment_terms, complaint_terms, log_odds_z


def test_words_are_stemmed_in_the_customers_language():
    english = comment_terms("I waited and waited, still waiting", "en")
    finnish = comment_terms("Odotin viikon, odottaminen kesti viikkoja", "fi")

    assert english["wait"] == "waited"
    assert {"wait", "still wait"} <= set(english)
    assert "viikko" in finnish or "viiko" in finnish


def test_stop_words_go_and_negations_stay_in_phrases():
    terms = comment_terms("Nobody called me back and it was not solved", "en")

    assert "the" not in terms and "and" not in terms and "was" not in terms
    assert terms["not solv"] == "not solved"
    assert "nobody call" in terms


def test_swedish_negation_phrase_and_frisian_lower_case_only():
    swedish = comment_terms("Ärendet blev inte löst", "sv")
    frisian = comment_terms("It pakket kaam te let", "fy")

    assert any(shown == "inte löst" for shown in swedish.values())
    assert frisian["pakket"] == "pakket"


def test_a_term_counts_once_per_comment():
    comments = [Comment("slow slow slow", "en", True)] * 3 + [Comment("fine", "en", False)] * 5

    [term] = complaint_terms(comments)

    assert (term.shown, term.low, term.other) == ("slow", 3, 0)


def test_only_terms_markedly_more_common_in_low_comments_are_listed():
    low = [Comment("The refund was slow", "en", True) for _ in range(6)]
    low += [Comment("Great refund", "en", True) for _ in range(2)]
    rest = [Comment("Great service, quick refund", "en", False) for _ in range(8)]

    terms = complaint_terms(low + rest)

    assert [t.shown for t in terms][:1] == ["slow"]
    assert "refund" not in [t.shown for t in terms]  # as common in the happy comments
    assert terms[0].low_share == 6 * 100 / 8


def test_fewer_than_three_low_comments_is_no_term():
    comments = [Comment("Rude agent", "en", True)] * 2 + [Comment("Fine", "en", False)] * 20

    assert complaint_terms(comments) == []


def test_log_odds_z_is_zero_when_shares_are_equal():
    assert abs(log_odds_z(low=5, low_total=10, other=5, other_total=10)) < 1e-12


def test_terms_from_the_very_same_comments_are_one_finding():
    comments = [Comment("Nobody called me back", "en", True)] * 3
    comments += [Comment("Fine", "en", False)] * 10

    terms = complaint_terms(comments)

    assert [t.shown for t in terms] == ["nobody called"]
