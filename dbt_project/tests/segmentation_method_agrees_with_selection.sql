-- cluster_evaluation selects at most one row; the method of record is that row's algorithm, 'rule_based' when it
-- selects none, and patient_segments follows it. Returns the disagreements.
with evaluation as (
    select algorithm, is_selected, segmentation_method from {{ ref('cluster_evaluation') }}
),

decisions as (
    select
        count(*) filter (where is_selected) as n_selected,
        coalesce(any_value(algorithm) filter (where is_selected), 'rule_based') as expected_method,
        min(segmentation_method) as min_method,
        max(segmentation_method) as max_method
    from evaluation
),

segment_methods as (
    select distinct segmentation_method from {{ ref('patient_segments') }}
)

select decisions.*, segment_methods.segmentation_method as segment_method
from decisions
cross join segment_methods
where decisions.n_selected > 1
    or decisions.min_method <> decisions.max_method
    or decisions.min_method <> decisions.expected_method
    or segment_methods.segmentation_method <> decisions.expected_method
