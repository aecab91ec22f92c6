{#- The utilization and outcome counts shared by population_kpis and condition_cohort_profiles, with the rates
    computed from them. Definitions:
      readmission rate (30/60/90 days) = index episodes followed by another episode within the window / index
        episodes (hospital episodes ending alive; overlapping or same-day admissions form one episode);
      average length of stay = summed length of stay / admissions;
      ICU rate = admissions with an ICU stay / admissions; ED rate = admissions through the ED / admissions;
      in-hospital mortality = admissions ending in death / admissions;
      one-year mortality = patients who died within 365 days of their last discharge (in hospital included) /
        patients of the group.
    `differences` are the counts anyone can derive from two published ones (e.g. readmissions between 31 and 60
    days); cell suppression protects them like published counts. `headline` counts (those behind the rates
    dashboards lead with) are the last a complementary suppression picks. -#}
{% macro utilization_count_spec() %}
    {{ return({
        'counts': [
            'n_patients', 'n_admissions', 'n_icu_admissions', 'n_ed_admissions', 'n_index_episodes',
            'n_readmissions_30d', 'n_readmissions_60d', 'n_readmissions_90d', 'n_in_hospital_deaths',
            'n_died_within_1y',
        ],
        'differences': [
            ('n_admissions_without_icu', 'n_admissions', 'n_icu_admissions'),
            ('n_admissions_without_ed', 'n_admissions', 'n_ed_admissions'),
            ('n_readmissions_31_60d', 'n_readmissions_60d', 'n_readmissions_30d'),
            ('n_readmissions_61_90d', 'n_readmissions_90d', 'n_readmissions_60d'),
            ('n_index_episodes_not_readmitted', 'n_index_episodes', 'n_readmissions_90d'),
            ('n_admissions_ending_alive', 'n_admissions', 'n_in_hospital_deaths'),
            ('n_died_after_discharge_within_1y', 'n_died_within_1y', 'n_in_hospital_deaths'),
            ('n_patients_not_died_within_1y', 'n_patients', 'n_died_within_1y'),
        ],
        'headline': [
            'n_patients', 'n_admissions', 'n_index_episodes', 'n_readmissions_30d', 'n_in_hospital_deaths',
            'n_died_within_1y',
        ],
    }) }}
{% endmacro %}


{#- Aggregates over patient_summary rows (alias `patients`) giving the raw counts of utilization_count_spec()
    and the summed length of stay. -#}
{% macro utilization_count_aggregates(patients) %}
        count(*) as n_patients,
        coalesce(sum({{ patients }}.n_admissions), 0) as n_admissions,
        coalesce(sum({{ patients }}.n_icu_admissions), 0) as n_icu_admissions,
        coalesce(sum({{ patients }}.n_ed_admissions), 0) as n_ed_admissions,
        coalesce(sum({{ patients }}.n_index_episodes), 0) as n_index_episodes,
        coalesce(sum({{ patients }}.n_readmissions_30d), 0) as n_readmissions_30d,
        coalesce(sum({{ patients }}.n_readmissions_60d), 0) as n_readmissions_60d,
        coalesce(sum({{ patients }}.n_readmissions_90d), 0) as n_readmissions_90d,
        coalesce(sum({{ patients }}.n_in_hospital_deaths), 0) as n_in_hospital_deaths,
        count(*) filter (where {{ patients }}.died_within_1y) as n_died_within_1y,
        coalesce(sum({{ patients }}.total_los_days::decimal(18, 6)), 0) as total_los_days
{%- endmacro %}


{#- The published columns: counts from `counts` (suppressed), rates from them (NULL when a count they use is
    suppressed), average length of stay from `sums`.total_los_days; rounded as macros/bi_precision.sql says. -#}
{% macro utilization_columns(counts, sums) %}
    {{ counts }}.n_patients::bigint as n_patients,
    {{ counts }}.n_admissions::bigint as n_admissions,
    {{ bi_round(sums ~ '.total_los_days / nullif(' ~ counts ~ '.n_admissions, 0)', 'mean') }} as avg_los_days,
    {{ counts }}.n_icu_admissions::bigint as n_icu_admissions,
    {{ bi_round(counts ~ '.n_icu_admissions / nullif(' ~ counts ~ '.n_admissions, 0)', 'proportion') }}
        as icu_admission_rate,
    {{ counts }}.n_ed_admissions::bigint as n_ed_admissions,
    {{ bi_round(counts ~ '.n_ed_admissions / nullif(' ~ counts ~ '.n_admissions, 0)', 'proportion') }}
        as ed_admission_rate,
    {{ counts }}.n_index_episodes::bigint as n_index_episodes,
    {%- for days in [30, 60, 90] %}
    {{ counts }}.n_readmissions_{{ days }}d::bigint as n_readmissions_{{ days }}d,
    {{ bi_round(counts ~ '.n_readmissions_' ~ days ~ 'd / nullif(' ~ counts ~ '.n_index_episodes, 0)', 'proportion') }}
        as readmission_rate_{{ days }}d,
    {%- endfor %}
    {{ counts }}.n_in_hospital_deaths::bigint as n_in_hospital_deaths,
    {{ bi_round(counts ~ '.n_in_hospital_deaths / nullif(' ~ counts ~ '.n_admissions, 0)', 'proportion') }}
        as in_hospital_mortality_rate,
    {{ counts }}.n_died_within_1y::bigint as n_died_within_1y,
    {{ bi_round(counts ~ '.n_died_within_1y / nullif(' ~ counts ~ '.n_patients, 0)', 'proportion') }}
        as one_year_mortality_rate
{%- endmacro %}


{#- For rows of population_kpis (relation `kpis`), which of a mart's figures taken from it are hidden and why:
    `figures` lists (figure, [counts of population_kpis behind it]); a figure is hidden when one of its counts
    is. Gives dimension_value, suppressed_columns and suppression_reasons (NULL when none is hidden). -#}
{% macro kpi_figure_suppression(kpis, figures) %}
    select
        {{ kpis }}.dimension_value,
        nullif(concat_ws(', ',
            {%- for figure, counts in figures %}
            case when {{ counts | join(' is null or ') }} is null then '{{ figure }}' end{{ ',' if not loop.last }}
            {%- endfor %}
        ), '') as suppressed_columns,
        nullif(concat_ws('; ',
            {%- for figure, counts in figures %}
            case when {{ counts | join(' is null or ') }} is null then '{{ figure }}: uses ' || concat_ws(' and ',
                {%- for count in counts %}
                case when {{ count }} is null then 'population_kpis.{{ count }}' end{{ ',' if not loop.last }}
                {%- endfor %}
            ) || ', hidden there' end{{ ',' if not loop.last }}
            {%- endfor %}
        ), '') as suppression_reasons
    from {{ kpis }}
{% endmacro %}
