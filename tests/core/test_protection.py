"""The protection rule: N copies on distinct drives, or 3-2-1 (copies, media kinds, places)."""

from __future__ import annotations

import pytest

from datawrangler.core.protection import Copy, MediaKind, Rule, RuleError, judge

NETFLIX = Rule.parse("3-2-1")


def test_parse_reads_both_rules_and_refuses_the_rest_with_the_choices() -> None:
    assert Rule.parse("2") == Rule(2)
    assert Rule.parse(3) == Rule(3)
    assert Rule(3, 2, 2) == NETFLIX
    assert NETFLIX.name == "3-2-1" and Rule(2).name == "2"
    for bad in ("0", "two", "3-2", True, None):
        with pytest.raises(RuleError, match=r"'2'.*'3-2-1'"):
            Rule.parse(bad)  # type: ignore[arg-type]


def test_describe_says_the_rule_in_words() -> None:
    assert Rule(2).describe() == "2 verified copies on distinct drives"
    assert NETFLIX.describe() == ("3 verified copies on distinct drives, on at least 2 kinds of media, at least one "
                                  "in another place")


def test_copies_rule_counts_drives_not_folders() -> None:
    two_folders_one_drive = [Copy("disk-a"), Copy("disk-a")]
    j = judge(Rule(2), two_folders_one_drive)
    assert (j.copies, j.met) == (1, False)
    assert j.sentence() == "1 copy: needs 1 more copy"
    j = judge(Rule(2), [Copy("disk-a"), Copy("disk-b")])
    assert j.met and j.missing() == "" and j.sentence() == "2 copies: meets the rule 2"


def test_the_issue_example_two_shuttles_on_one_cart() -> None:
    copies = [Copy("s1", MediaKind.SHUTTLE, "A unit"), Copy("s2", MediaKind.SHUTTLE, "A unit")]
    j = judge(NETFLIX, copies)
    assert not j.met
    assert j.sentence() == "2 copies, 1 media kind, 1 site: needs a copy on another media kind at another site"


def test_three_copies_one_kind_needs_another_kind_only() -> None:
    copies = [Copy(d, MediaKind.SHUTTLE, "A unit") for d in ("s1", "s2")] + [Copy("s3", MediaKind.SHUTTLE, "Lab")]
    j = judge(NETFLIX, copies)
    assert (j.copies, j.media_kinds, j.sites, j.more_copies) == (3, 1, 2, 1)
    assert j.missing() == "needs a copy on another media kind"


def test_the_lab_raid_completes_the_rule() -> None:
    copies = [Copy("s1", MediaKind.SHUTTLE, "A unit"), Copy("s2", MediaKind.SHUTTLE, "A unit"),
              Copy("r1", MediaKind.RAID, "Lab")]
    j = judge(NETFLIX, copies)
    assert j.met and j.sentence() == "3 copies, 2 media kinds, 2 sites: meets the rule 3-2-1"


def test_unknown_kind_or_site_never_counts_as_another() -> None:
    copies = [Copy("s1", MediaKind.SHUTTLE, "A unit"), Copy("s2", None, None), Copy("s3", None, " ")]
    j = judge(NETFLIX, copies)
    assert (j.copies, j.media_kinds, j.sites) == (3, 1, 1)
    assert not j.met and j.missing() == "needs a copy on another media kind at another site"


def test_site_names_compare_without_case_or_spaces() -> None:
    copies = [Copy("s1", MediaKind.SHUTTLE, "Lab"), Copy("r1", MediaKind.RAID, " lab "),
              Copy("t1", MediaKind.LTO, "LAB")]
    assert judge(NETFLIX, copies).sites == 1


def test_no_copy_says_everything_that_is_missing() -> None:
    j = judge(NETFLIX, [])
    assert (j.copies, j.media_kinds, j.sites, j.more_copies) == (0, 0, 0, 3)
    assert j.sentence() == "0 copies, 0 media kinds, 0 sites: needs 3 more copies on 2 kinds of media at 2 sites"
    assert judge(Rule(2), []).sentence() == "0 copies: needs 2 more copies"


def test_more_copies_is_the_fewest_that_could_meet_it() -> None:
    # one drive: each new copy adds at most one kind and one place, so two more copies are needed
    j = judge(NETFLIX, [Copy("s1", MediaKind.SHUTTLE, "A unit")])
    assert j.more_copies == 2
    assert j.missing() == "needs 2 more copies on another media kind at another site"
    # a rule asking for more kinds than copies is bounded by kinds
    j = judge(Rule(2, media_kinds=3), [Copy("a", MediaKind.RAID), Copy("b", MediaKind.RAID)])
    assert j.more_copies == 2
