{#- The distribution of risk scores within each risk tier: patients per score bin of width
    var('bi_risk_score_bin_width'), all patients of the tier (living and deceased, as segment_tier_matrix counts
    them). Every bin a tier's score range overlaps is a row, empty ones included, so that a missing row never
    says a bin is empty; a bin crossing a tier cut-off is cut there, so each row lies within one tier. The bins
    of a tier add up to the tier's size, which segment_tier_matrix publishes: the tier total takes the matrix's
    decision (fixed_cells) and the bins are suppressed as parts of it (row_partitions), so no hidden bin can be
    worked out from the published bins and the tier size. -#}
{%- set bin_width = bi_number_var('bi_risk_score_bin_width', minimum=0.0001) -%}
{#- Scores and edges in units of 0.0001, the precision of risk_score, so that bin edges are exact (0.15 / 0.05
    is not 3 in floating point). -#}
{%- set bin_units = [(bin_width * 10000) | round | int, 1] | max -%}
{%- set n_bins = (10000 + bin_units - 1) // bin_units -%}

with patients as (
    select risk_tier, risk_score from {{ ref('patient_summary') }}
),

tier_sizes as (
    select risk_tier, is_suppressed from {{ ref('segment_tier_matrix') }}
    where row_type = 'tier_total'
),

risk_tiers as (
    select risk_tier, tier_rank, min_score, next_min_score from {{ ref('int_risk_tiers') }}
),

tier_ranks as (
    select risk_tier, tier_rank from risk_tiers
),

-- Each tier's score range [lower, upper) from int_risk_tiers; the top tier's includes 1.
tier_ranges as (
    select
        risk_tier,
        round(min_score * 10000)::integer as lower_units,
        coalesce(round(next_min_score * 10000)::integer, 10000) as upper_units
    from risk_tiers
),

score_bins as (
    select
        range as bin_index,
        range * {{ bin_units }} as lower_units,
        least((range + 1) * {{ bin_units }}, 10000) as upper_units
    from {{ integer_range(n_bins) }}
),

-- One row per bin overlapping each tier's range, cut to the range, and one total row per tier.
distribution_rows as (
    select
        tier_ranges.risk_tier,
        score_bins.bin_index,
        greatest(score_bins.lower_units, tier_ranges.lower_units) as lower_units,
        least(score_bins.upper_units, tier_ranges.upper_units) as upper_units,
        'score_bin' as row_type
    from tier_ranges
    inner join score_bins
        on tier_ranges.upper_units > score_bins.lower_units
        and tier_ranges.lower_units < score_bins.upper_units
    union all
    select risk_tier, null, null, null, 'tier_total' from tier_ranges
),

-- A score of exactly 1 belongs to the last bin.
patient_bins as (
    select
        risk_tier,
        least({{ integer_divide('round(risk_score * 10000)::bigint', bin_units) }}, {{ n_bins - 1 }}) as bin_index
    from patients
),

bin_counts as (
    select risk_tier, bin_index, count(*) as n_patients
    from patient_bins
    group by grouping sets ((risk_tier, bin_index), (risk_tier))
),

distribution_counts as (
    select
        distribution_rows.*,
        distribution_rows.risk_tier || ' | '
        || coalesce(distribution_rows.bin_index::{{ dbt.type_string() }}, 'All scores') as row_key,
        coalesce(bin_counts.n_patients, 0) as n_patients
    from distribution_rows
    left join bin_counts
        on distribution_rows.risk_tier = bin_counts.risk_tier
        and distribution_rows.bin_index is not distinct from bin_counts.bin_index
),

-- The bins of each tier add up to the tier.
row_partitions as (
    select 'tier ' || risk_tier as partition_id, row_key, row_type = 'tier_total' as is_total
    from distribution_counts
),

-- The tier sizes are shown or hidden as segment_tier_matrix decided.
fixed_cells as (
    select distribution_counts.row_key, 'n_patients' as count_name, tier_sizes.is_suppressed
    from distribution_counts
    inner join tier_sizes
        on distribution_counts.risk_tier = tier_sizes.risk_tier
    where distribution_counts.row_type = 'tier_total'
),

{{ suppress_counts('distribution_counts', 'row_key', {'counts': ['n_patients']},
                   row_partitions='row_partitions', fixed_cells='fixed_cells') }},

published_bins as (
    select
        distribution_counts.risk_tier::{{ dbt.type_string() }} as risk_tier,
        tier_ranks.tier_rank::integer as risk_tier_rank,
        {{ bi_round('distribution_counts.lower_units / 10000', 'threshold') }} as score_bin_lower,
        {{ bi_round('distribution_counts.upper_units / 10000', 'threshold') }} as score_bin_upper,
        suppressed_counts.n_patients::bigint as n_patients,
        (suppressed_counts.suppressed_columns is not null)::boolean as is_suppressed
    from distribution_counts
    inner join suppressed_counts
        on distribution_counts.row_key = suppressed_counts.row_key
    left join tier_ranks
        on distribution_counts.risk_tier = tier_ranks.risk_tier
    where distribution_counts.row_type = 'score_bin'
)

select * from published_bins
