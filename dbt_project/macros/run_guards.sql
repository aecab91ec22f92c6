{#- Checks run before any node of a dbt command that builds or tests (on-run-start in dbt_project.yml): a
    setting or raw table that would make the models wrong stops the command here, with one message naming it,
    instead of failing deep in a model or, worse, building wrong figures. -#}

{#- Commands that build or test nodes; parse, compile, docs and show neither read the data nor need the checks. -#}
{% macro run_guard_commands() %}
    {{ return(['build', 'run', 'test', 'seed', 'snapshot']) }}
{% endmacro %}


{#- The documented floor of min_cell_size (docs/bi.md): counts of 1 to 10 are never published. -#}
{% macro min_cell_size_floor() %}
    {{ return(11) }}
{% endmacro %}


{#- The var that lets a build publish counts below the floor; its name says what it does. -#}
{% macro small_cells_override_var() %}
    {{ return('unsafe_allow_min_cell_size_below_11') }}
{% endmacro %}


{% macro check_run_settings() %}
    {%- if execute and flags.WHICH in run_guard_commands() -%}
        {%- do check_sql_vars() -%}
        {%- if flags.WHICH in ['build', 'run'] -%}
            {%- do check_raw_tables_not_empty() -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#- A numeric dbt var within [minimum, maximum], or an error naming the var, the rule and the value given. -#}
{% macro checked_number_var(name, minimum=none, maximum=none, whole=false) %}
    {%- set value = var(name) -%}
    {%- set kind = 'a whole number' if whole else 'a number' -%}
    {%- set bounds = [] -%}
    {%- if minimum is not none -%}{%- do bounds.append('>= ' ~ minimum) -%}{%- endif -%}
    {%- if maximum is not none -%}{%- do bounds.append('<= ' ~ maximum) -%}{%- endif -%}
    {%- set rule = kind ~ (' ' ~ bounds | join(' and ') if bounds else '') -%}
    {%- if value is boolean or value is not number or (whole and value | int != value)
          or (minimum is not none and value < minimum) or (maximum is not none and value > maximum) -%}
        {{ exceptions.raise_compiler_error("dbt var " ~ name ~ ": expected " ~ rule ~ ", got "
                                           ~ value | tojson) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{#- Every var pasted into SQL text, checked before the first model compiles: a string there would change the
    SQL itself, and an out-of-range number would silently reject (or accept) every row. -#}
{% macro check_sql_vars() %}
    {%- if var('data_end_real_year') is not none -%}
        {%- do checked_number_var('data_end_real_year', minimum=2008, maximum=2100, whole=true) -%}
    {%- endif -%}
    {%- do checked_number_var('outreach_active_window_days', minimum=1, whole=true) -%}
    {%- do checked_number_var('outreach_min_days_since_discharge', minimum=0, whole=true) -%}
    {%- do checked_number_var('max_reject_share', minimum=0, maximum=1) -%}
    {#- A week: an ICU stay further than that from its admission belongs to another one. -#}
    {%- do checked_number_var('icu_stay_admission_tolerance_hours', minimum=0, maximum=168) -%}
    {%- set age_min = checked_number_var('anchor_age_min', minimum=0, maximum=150, whole=true) -%}
    {%- do checked_number_var('anchor_age_max', minimum=age_min, maximum=150, whole=true) -%}
    {#- Shifted years are SMALLINTs of four digits; a range that is empty or too tight rejects every patient. -#}
    {%- set anchor_year_min = checked_number_var('anchor_year_min', minimum=0, maximum=9999, whole=true) -%}
    {%- do checked_number_var('anchor_year_max', minimum=anchor_year_min, maximum=9999, whole=true) -%}
    {#- Real calendar years, as data_end_real_year; MIMIC-IV starts in 2008. -#}
    {%- set real_year_min = checked_number_var('plausible_real_year_min', minimum=1900, maximum=2100,
                                               whole=true) -%}
    {%- do checked_number_var('plausible_real_year_max', minimum=real_year_min, maximum=2100, whole=true) -%}
    {%- do checked_number_var('plausible_year_margin', minimum=0, maximum=100, whole=true) -%}
    {#- Below a day every ordinary admission would be rejected. -#}
    {%- do checked_number_var('max_length_of_stay_days', minimum=1) -%}
    {#- Beyond a day the los would no longer have to describe the stay's own times. -#}
    {%- do checked_number_var('icu_los_tolerance_hours', minimum=0, maximum=24) -%}
    {%- do checked_number_var('cost_min_observed_years', minimum=0.01) -%}
    {%- do checked_number_var('cohort_high_utilization_min_emergency_admissions', minimum=1, whole=true) -%}
    {%- do checked_number_var('bi_top_list_length', minimum=1, whole=true) -%}
    {%- do checked_number_var('bi_risk_score_bin_width', minimum=0.0001, maximum=1) -%}
    {%- for item in ['admission', 'inpatient_day', 'icu_day', 'ed_visit'] -%}
        {%- if var('unit_cost_' ~ item ~ '_usd', none) is not none -%}
            {%- do checked_number_var('unit_cost_' ~ item ~ '_usd', minimum=0) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do check_min_cell_size() -%}
{% endmacro %}


{#- min_cell_size below the floor publishes counts that identify patients; only the override allows it. -#}
{% macro check_min_cell_size() %}
    {%- set override = var(small_cells_override_var(), false) -%}
    {%- if override is not boolean -%}
        {{ exceptions.raise_compiler_error("dbt var " ~ small_cells_override_var() ~ ": expected true or false, got "
                                           ~ override) }}
    {%- endif -%}
    {%- set value = checked_number_var('min_cell_size', minimum=1, whole=true) -%}
    {%- if value < min_cell_size_floor() and not override -%}
        {{ exceptions.raise_compiler_error(
            "dbt var min_cell_size: " ~ value ~ " is below the floor of " ~ min_cell_size_floor()
            ~ " (docs/bi.md): counts from " ~ value ~ " to " ~ (min_cell_size_floor() - 1)
            ~ " would be published; set var " ~ small_cells_override_var()
            ~ ": true only if a privacy review allows it") }}
    {%- endif -%}
{% endmacro %}


{#- Every raw table (macros/raw_tables.sql) must hold rows: an empty one (a header-only file, a failed export)
    would build a warehouse without, say, any ICU stay and publish it as if the hospital had none. A missing
    table is left to the source tests, which name it. -#}
{% macro check_raw_tables_not_empty() %}
    {%- set empty = [] -%}
    {%- for source in raw_table_sources() -%}
        {%- set relation = adapter.get_relation(database=source.database, schema=source.schema,
                                                identifier=source.identifier) -%}
        {%- if relation is not none -%}
            {%- set rows = run_query("select count(*) from " ~ relation).columns[0].values()[0] -%}
            {%- if rows == 0 -%}{%- do empty.append(source.schema ~ '.' ~ source.identifier) -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if empty -%}
        {{ exceptions.raise_compiler_error(
            "raw table" ~ ('s ' if empty | length > 1 else ' ') ~ empty | sort | join(', ')
            ~ (" are" if empty | length > 1 else " is") ~ " empty: nothing was built; load the data again "
            ~ "(the loader refuses an empty table unless given --allow-shrink)") }}
    {%- endif -%}
{% endmacro %}
