"""Readable segment names from each segment's profile, by the rules of the `segment_naming_rules` seed.

A rule is one or more condition rows sharing a `segment_name` and `rule_priority`; it matches a segment when
every condition holds. A condition compares either the segment mean of a feature in original units
(`statistic` = mean; booleans are shares) or its standardized mean difference against all other patients
(`statistic` = smd) with a threshold. A rule row without a feature is unconditional (a catch-all).

Names are handed out rule by rule in priority order. When several unnamed segments match a rule, the one that
fits it best takes the name: the best fit is the largest sum of standardized differences in the directions
the rule asks for, ties going to the lower segment id. The others try later rules, but not the catch-all,
which is kept for segments no specific rule describes. A segment that ends up without a name of its own takes
the name of the first rule it matched, followed by its most distinctive feature, e.g. "Chronic stable (higher
age)"; should that still collide, a running number follows. The noise
segment of DBSCAN/HDBSCAN (id -1) always carries the configured noise name. So no two segments share a name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.algorithms import NOISE
from segmentation.features import CATALOGUE_BY_COLUMN
from segmentation.profiles import feature_labels

RULES_SOURCE = "seed segment_naming_rules"
RULE_COLUMNS: tuple[str, ...] = (
    "rule_priority", "segment_name", "feature", "statistic", "operator", "threshold",
)
STATISTICS: tuple[str, ...] = ("mean", "smd")
OPERATORS: tuple[str, ...] = (">=", ">", "<=", "<")


class NamingRuleError(ValueError):
    """A naming rule that cannot be applied; the message names the rule and condition."""


def _describe(row: pd.Series) -> str:
    rule = f"rule '{row['segment_name']}' (priority {row['rule_priority']})"
    return f"{RULES_SOURCE}: {rule}, feature {row['feature']!r}"


def validate_rules(rules: pd.DataFrame) -> pd.DataFrame:
    """Check the rule table and return it with blank features as NULL and priorities as integers."""
    missing = [column for column in RULE_COLUMNS if column not in rules.columns]
    if missing:
        raise NamingRuleError(f"{RULES_SOURCE} lacks column(s) {', '.join(missing)}")
    rules = rules.loc[:, list(RULE_COLUMNS)].copy()
    blank = rules["feature"].isna() | (rules["feature"].astype(str).str.strip() == "")
    rules["feature"] = rules["feature"].where(~blank)
    if rules["segment_name"].isna().any() or rules["rule_priority"].isna().any():
        raise NamingRuleError(f"{RULES_SOURCE}: every row needs a segment_name and a rule_priority")
    conditional = rules["feature"].notna()
    checks = [
        (conditional & ~rules["feature"].isin(list(CATALOGUE_BY_COLUMN)), "is not a catalogue feature"),
        (conditional & ~rules["statistic"].isin(STATISTICS), f"needs statistic in {', '.join(STATISTICS)}"),
        (conditional & ~rules["operator"].isin(OPERATORS), f"needs operator in {', '.join(OPERATORS)}"),
        (conditional & pd.to_numeric(rules["threshold"], errors="coerce").isna(),
         "needs a numeric threshold"),
        (~conditional & (rules["statistic"].notna() | rules["operator"].notna() | rules["threshold"].notna()),
         "has a statistic, operator or threshold but no feature"),
    ]
    for failed, message in checks:
        if failed.any():
            raise NamingRuleError(f"{_describe(rules[failed].iloc[0])} {message}")
    if conditional.all():
        raise NamingRuleError(f"{RULES_SOURCE} needs an unconditional rule (a row without feature) so that "
                              "every segment gets a name")
    priorities = rules.groupby("segment_name")["rule_priority"].nunique()
    if (priorities > 1).any():
        raise NamingRuleError(f"{RULES_SOURCE}: rule '{priorities[priorities > 1].index[0]}' has rows with "
                              "different rule_priority values")
    names_per_priority = rules.groupby("rule_priority")["segment_name"].nunique()
    if (names_per_priority > 1).any():
        shared = names_per_priority[names_per_priority > 1].index[0]
        raise NamingRuleError(f"{RULES_SOURCE}: rule_priority {shared} is shared by several segment names")
    return rules.assign(rule_priority=rules["rule_priority"].astype(int),
                        threshold=pd.to_numeric(rules["threshold"], errors="coerce"))


def rule_matches(statistics: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Every (segment, rule) pair with whether the rule matches and how well (its fit score)."""
    segments = statistics[["segment_id"]].drop_duplicates()
    pairs = segments.merge(rules, how="cross")
    pairs = pairs.merge(statistics[["segment_id", "feature", "segment_mean", "standardized_mean_difference"]],
                        on=["segment_id", "feature"], how="left")
    observed = pd.Series(np.where(pairs["statistic"] == "mean", pairs["segment_mean"],
                                  pairs["standardized_mean_difference"]), index=pairs.index, dtype="Float64")
    threshold = pairs["threshold"].astype("Float64")
    operator = pairs["operator"]
    holds = (
        ((operator == ">=") & (observed >= threshold)) | ((operator == ">") & (observed > threshold))
        | ((operator == "<=") & (observed <= threshold)) | ((operator == "<") & (observed < threshold))
    ).fillna(False)
    towards_higher = operator.isin([">=", ">"])
    smd = pairs["standardized_mean_difference"].fillna(0.0)
    pairs = pairs.assign(
        holds=holds | pairs["feature"].isna(),
        fit=np.where(pairs["feature"].isna(), 0.0, np.where(towards_higher, smd, -smd)),
    )
    matches = (pairs.assign(is_catch_all=pairs["feature"].isna())
               .groupby(["segment_id", "rule_priority", "segment_name"], as_index=False)
               .agg(matches=("holds", "all"), fit=("fit", "sum"), is_catch_all=("is_catch_all", "all")))
    specific = matches[matches["matches"] & ~matches["is_catch_all"]]["segment_id"].unique()
    # The catch-all is for segments no specific rule describes; a segment that lost a specific rule to a
    # better-fitting one is better named after that rule (with its distinctive feature).
    return matches.assign(matches=matches["matches"] & ~(matches["is_catch_all"]
                                                         & matches["segment_id"].isin(specific)))


def distinctive_feature(statistics: pd.DataFrame) -> pd.Series:
    """Per segment, e.g. "higher ICU days": its feature with the largest absolute standardized difference."""
    ranked = statistics.dropna(subset=["standardized_mean_difference"]).assign(
        magnitude=lambda frame: frame["standardized_mean_difference"].abs()
    ).sort_values(["segment_id", "magnitude", "feature"], ascending=[True, False, True])
    top = ranked.drop_duplicates("segment_id").set_index("segment_id")
    direction = np.where(top["standardized_mean_difference"] > 0, "higher ", "lower ")
    labels = top["feature"].map(feature_labels()).to_numpy()
    return pd.Series(direction + labels, index=top.index, dtype="str")


def assign_rule_names(matches: pd.DataFrame) -> dict[int, str]:
    """Rule by rule in priority order, the best-fitting unnamed matching segment takes the name."""
    names: dict[int, str] = {}
    candidates = matches[matches["matches"]].sort_values(["rule_priority", "fit", "segment_id"],
                                                         ascending=[True, False, True])
    for _, rule in candidates.groupby("rule_priority", sort=True):
        open_segments = rule[~rule["segment_id"].isin(list(names))]
        if not open_segments.empty:
            best = open_segments.iloc[0]
            names[int(best["segment_id"])] = str(best["segment_name"])
    return names


def name_segments(statistics: pd.DataFrame, rules: pd.DataFrame, noise_name: str) -> pd.Series:
    """Unique name per segment id (see module docstring)."""
    segment_ids = pd.Index(sorted(statistics["segment_id"].unique()), name="segment_id")
    rules = validate_rules(rules)
    clustered = statistics[statistics["segment_id"] != NOISE]
    if clustered.empty:
        return pd.Series(noise_name, index=segment_ids, dtype="object")
    matches = rule_matches(clustered, rules)
    names = pd.Series(assign_rule_names(matches), dtype="object").reindex(segment_ids)
    first_match = (matches[matches["matches"]].sort_values(["segment_id", "rule_priority"])
                   .drop_duplicates("segment_id").set_index("segment_id")["segment_name"].reindex(segment_ids))
    suffix = distinctive_feature(statistics).reindex(segment_ids).astype("str")
    first_match = first_match.astype("str")
    fallback = first_match.where(suffix.isna(), first_match + " (" + suffix + ")")
    names = names.fillna(fallback).where(segment_ids != NOISE, noise_name)
    return deduplicate(names)


def deduplicate(names: pd.Series) -> pd.Series:
    """Append a running number to repeated names, in segment id order (the first keeps the plain name)."""
    occurrence = names.groupby(names).cumcount()
    return names.where(occurrence == 0, names + " " + (occurrence + 1).astype(str))


def base_name(name: str) -> str:
    """The rule name inside a segment name: without the "(distinctive feature)" suffix or running number."""
    stem = name.split(" (", 1)[0]
    head, _, tail = stem.rpartition(" ")
    return head if head and tail.isdigit() else stem


def name_violations(statistics: pd.DataFrame, names: pd.Series, rules: pd.DataFrame) -> pd.DataFrame:
    """Every condition of a segment's naming rule that its profile does not meet (empty when every name is
    true of its members). Segments whose name is no rule's (noise, rule-based segments) are not checked."""
    rules = validate_rules(rules)
    named = pd.DataFrame({"segment_id": names.index, "segment_name": names.map(base_name).to_numpy()})
    conditions = named.merge(rules[rules["feature"].notna()], on="segment_name")
    checked = conditions.merge(
        statistics[["segment_id", "feature", "segment_mean", "standardized_mean_difference"]],
        on=["segment_id", "feature"], how="left")
    observed = np.where(checked["statistic"] == "mean", checked["segment_mean"],
                        checked["standardized_mean_difference"]).astype(float)
    threshold = checked["threshold"].to_numpy(dtype=float)
    holds = np.select(
        [checked["operator"] == ">=", checked["operator"] == ">", checked["operator"] == "<=",
         checked["operator"] == "<"],
        [observed >= threshold, observed > threshold, observed <= threshold, observed < threshold],
        default=False,
    )
    return checked.assign(observed=observed)[~holds].reset_index(drop=True)
