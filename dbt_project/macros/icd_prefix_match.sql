{#- Join predicate matching a billed ICD code against a prefix-range seed row (icd_version, code_from, code_to):
    the code's first length(code_from) characters must lie in [code_from, code_to], compared as text. This is how
    MIT-LCP's mimic-code concepts compare prefixes (`substr(code, 1, n) between 'a' and 'b'`), so ranges such as
    ICD-10 'C45'-'C58' keep their exact meaning, including non-numeric categories like 'C4A'.
    Match distinct codes (thousands) against the seed, then join diagnoses on the exact code: a prefix
    comparison per diagnosis row would repeat the same work millions of times. -#}
{% macro icd_prefix_match(code_column, version_column, prefix_relation) -%}
    {{ version_column }} = {{ prefix_relation }}.icd_version
    and substr({{ code_column }}, 1, length({{ prefix_relation }}.code_from))
        between {{ prefix_relation }}.code_from and {{ prefix_relation }}.code_to
{%- endmacro %}
