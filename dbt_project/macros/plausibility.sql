{#- Each patient's plausible shifted years, for the date checks of the validated_mimic__* models. MIMIC-IV moves
    all dates of a patient by the same whole number of years, and says only that anchor_year stands for some
    real year inside anchor_year_group's 3-year window. The release's real years (vars plausible_real_year_min
    and plausible_real_year_max) therefore map into the patient's own calendar as
        anchor_year + (plausible_real_year_min - last year of the group)
        .. anchor_year + (plausible_real_year_max - first year of the group),
    which holds every real date whichever year of the window the anchor is; var plausible_year_margin widens
    both ends (a discharge may fall in the year after the release's last, a dod up to a year after that).
    The group must be 'YYYY - YYYY' (else the patient is rejected as invalid_anchor_year_group first); try_cast
    keeps a malformed one from failing the model before that reason is given. -#}

{#- The release's last real year: the var, or data_end_real_year when that is set later (a newer release). Both
    are checked before the build (check_sql_vars); the number tests only keep a bad value from failing the parse
    before that check can name it. -#}
{% macro plausible_real_year_max() %}
    {%- set configured_end = var('data_end_real_year') -%}
    {%- if configured_end is number and var('plausible_real_year_max') is number
          and configured_end > var('plausible_real_year_max') -%}
        {{ return(configured_end) }}
    {%- endif -%}
    {{ return(var('plausible_real_year_max')) }}
{% endmacro %}


{% macro patient_first_plausible_year(anchor_year, anchor_year_group) -%}
    ({{ anchor_year }} + {{ var('plausible_real_year_min') }}
        - try_cast(right({{ anchor_year_group }}, 4) as integer) - {{ var('plausible_year_margin') }})
{%- endmacro %}


{% macro patient_last_plausible_year(anchor_year, anchor_year_group) -%}
    ({{ anchor_year }} + {{ plausible_real_year_max() }}
        - try_cast(left({{ anchor_year_group }}, 4) as integer) + {{ var('plausible_year_margin') }})
{%- endmacro %}
