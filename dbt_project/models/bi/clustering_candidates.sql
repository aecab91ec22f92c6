{#- marts.cluster_evaluation for BI tools: the quality figures of every candidate clustering, without the
    cluster sizes of the sample or the stored models. -#}
with evaluation as (
    select * from {{ ref('cluster_evaluation') }}
)

select
    algorithm::varchar as algorithm,
    parameter_name::varchar as parameter_name,
    parameter_value::double as parameter_value,
    round(silhouette, 4)::double as silhouette,
    round(davies_bouldin, 4)::double as davies_bouldin,
    round(stability, 4)::double as stability,
    is_eligible::boolean as is_eligible,
    is_algorithm_choice::boolean as is_algorithm_choice,
    is_selected::boolean as is_selected,
    selection_reason::varchar as selection_reason
from evaluation
