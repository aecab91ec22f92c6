{#- The raw MIMIC-IV tables, declared once for every model and check that goes through all of them: the sources of
    staging/mimic/_mimic__sources.yml, each with its models base_mimic__<table>, validated_mimic__<table> and
    stg_mimic__<table>. Per table: `source` and `table` (its source() arguments), `key` (the columns that
    identify one of its rows, MIMIC-IV's primary key) and `ids` (which of subject_id, hadm_id and stay_id it has).
    A model cannot loop over dbt's graph instead: the graph is empty while dbt parses, so the source() and ref()
    calls would be lost from the lineage. -#}
{% macro raw_tables() %}
    {{ return([
        {'source': 'mimiciv_hosp', 'table': 'patients', 'key': ['subject_id'], 'ids': ['subject_id']},
        {'source': 'mimiciv_hosp', 'table': 'admissions', 'key': ['hadm_id'], 'ids': ['subject_id', 'hadm_id']},
        {'source': 'mimiciv_hosp', 'table': 'diagnoses_icd', 'key': ['hadm_id', 'seq_num', 'icd_code', 'icd_version'],
         'ids': ['subject_id', 'hadm_id']},
        {'source': 'mimiciv_hosp', 'table': 'd_icd_diagnoses', 'key': ['icd_code', 'icd_version'], 'ids': []},
        {'source': 'mimiciv_icu', 'table': 'icustays', 'key': ['stay_id'], 'ids': ['subject_id', 'hadm_id', 'stay_id']},
    ]) }}
{% endmacro %}


{#- One raw table of raw_tables() by its table name. -#}
{% macro raw_table(name) %}
    {%- for raw in raw_tables() if raw.table == name -%}
        {{ return(raw) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("raw_table: no raw table named '" ~ name ~ "' in raw_tables()") }}
{% endmacro %}


{#- The raw table's name as the data-quality reports show it, e.g. 'mimiciv_hosp.admissions'. -#}
{% macro raw_table_name(raw) %}
    {{ return(raw.source ~ '.' ~ raw.table) }}
{% endmacro %}


{#- The declared source of every raw table, as graph nodes (database, schema, identifier), for the checks run
    before and after a command (on-run-start/-end hooks). -#}
{% macro raw_table_sources() %}
    {%- set names = [] -%}
    {%- for raw in raw_tables() -%}{%- do names.append(raw_table_name(raw)) -%}{%- endfor -%}
    {%- set sources = [] -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id')
            if source.source_name ~ '.' ~ source.name in names -%}
        {%- do sources.append(source) -%}
    {%- endfor -%}
    {{ return(sources) }}
{% endmacro %}
