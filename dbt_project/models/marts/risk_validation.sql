{#- AUROC by the Mann-Whitney rank formula: (sum of the positives' ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg),
    with tied scores given their average rank so that a tied positive-negative pair counts one half.
    Spearman's rho is Pearson's correlation of the same average ranks. -#}
{%- set scorers = ['risk_score', 'charlson_index'] -%}

with observations as (
    select * from {{ ref('int_risk_validation_observations') }}
),

ranked_observations as (
    select
        outcome,
        is_positive,
        {%- for scorer in scorers + ['latent_risk'] %}
        case when {{ scorer }} is not null then
            rank() over (partition by outcome order by {{ scorer }})
            + (count(*) over (partition by outcome, {{ scorer }}) - 1) / 2.0
        end as {{ scorer }}_rank{{ ',' if not loop.last }}
        {%- endfor %}
    from observations
),

outcome_ranks as (
    select
        outcome,
        count(*) as n,
        count(*) filter (where is_positive) as n_positive,
        count(*) filter (where not is_positive) as n_negative,
        {%- for scorer in scorers %}
        sum({{ scorer }}_rank) filter (where is_positive) as {{ scorer }}_positive_rank_sum,
        corr({{ scorer }}_rank, latent_risk_rank) as {{ scorer }}_latent_spearman{{ ',' if not loop.last }}
        {%- endfor %}
    from ranked_observations
    group by outcome
)

select
    outcome,
    n::integer as n,
    n_positive::integer as n_positive,
    n_negative::integer as n_negative,
    {%- for scorer in scorers %}
    round(
        ({{ scorer }}_positive_rank_sum - n_positive * (n_positive + 1) / 2.0)
        / nullif(n_positive * n_negative, 0),
        4)::double as {{ scorer }}_auroc,
    {%- endfor %}
    {%- for scorer in scorers %}
    round({{ scorer }}_latent_spearman, 4)::double as {{ scorer }}_latent_spearman{{ ',' if not loop.last }}
    {%- endfor %}
from outcome_ranks
