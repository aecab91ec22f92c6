{#- The precision of every figure of schema bi, decided once here and documented in models/marts/bi/_bi__docs.md
    (bi_precision) and in each column's description ("Rounded to N decimals", tests/test_publish.py checks the
    export against it). Figures carry no more digits than their estimate supports, and a reader learns no more
    about the counts behind a rate than its rounded value says:
      proportion        4 decimals (0.01 percentage point): shares, rates, ROC rates;
      small_proportion  6 decimals: shares of rejected raw rows, which are often below 1 in 10,000;
      score             3 decimals: averages of the 0-1 risk score, AUROCs and their intervals, clustering
                        quality (silhouette, Davies-Bouldin, stability);
      threshold         4 decimals: score thresholds and bin edges (the precision risk_score itself has),
                        and the parameter values of clustering candidates;
      mean              2 decimals: averages of ages, days, conditions, Charlson points, admissions per patient;
      usd               0 decimals: US dollars, whole (the costs are estimates from unit costs). -#}
{% macro bi_precision(kind) %}
    {%- set decimals = {
        'proportion': 4, 'small_proportion': 6, 'score': 3, 'threshold': 4, 'mean': 2, 'usd': 0,
    } -%}
    {%- if kind not in decimals -%}
        {{ exceptions.raise_compiler_error("bi_precision: unknown kind '" ~ kind ~ "', expected one of "
                                           ~ decimals.keys() | join(', ')) }}
    {%- endif -%}
    {{ return(decimals[kind]) }}
{% endmacro %}


{#- `expression` rounded to the precision of `kind`, as a double. -#}
{% macro bi_round(expression, kind) -%}
    round({{ expression }}, {{ bi_precision(kind) }})::double
{%- endmacro %}
