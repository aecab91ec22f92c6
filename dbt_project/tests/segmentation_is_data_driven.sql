{{ config(severity='warn') }}
-- Warns in the build log when no clustering qualified and the rule-based segments are the segmentation of
-- record; the row carries the reason (also published in bi.build_info).
select distinct segmentation_method, segmentation_reason
from {{ ref('cluster_evaluation') }}
where segmentation_method = 'rule_based'
