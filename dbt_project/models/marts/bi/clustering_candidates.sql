{#- marts.cluster_evaluation for BI tools: the quality figures of every candidate clustering, without the
    cluster sizes of the sample or the stored models. -#}
with evaluation as (
    select * from {{ ref('cluster_evaluation') }}
)

select
    algorithm::{{ dbt.type_string() }} as algorithm,
    parameter_name::{{ dbt.type_string() }} as parameter_name,
    {{ bi_round('parameter_value', 'threshold') }} as parameter_value,
    {{ bi_round('silhouette', 'score') }} as silhouette,
    {{ bi_round('davies_bouldin', 'score') }} as davies_bouldin,
    {{ bi_round('stability', 'score') }} as stability,
    is_eligible::boolean as is_eligible,
    is_algorithm_choice::boolean as is_algorithm_choice,
    is_selected::boolean as is_selected,
    selection_reason::{{ dbt.type_string() }} as selection_reason
from evaluation
