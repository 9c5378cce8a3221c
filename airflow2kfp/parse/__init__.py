"""Reading DAG files into the model. `static.read_dag_file` reads without importing Airflow or
running the file; it is the only entry point other stages need.

Modules, in the order a file passes through them:
  source.py        bytes -> text (size, readability, PEP 263 source encodings, BOM)
  static.py        Python's and libcst's parsers, the run over module statements, model building
  budget.py        the reading's budgets (steps, sizes, tasks, time, memory) and its hard stops
  interpreter.py   statements, definitions, calls: the abstract interpreter
  importing.py     imports of the repository's own modules, read and run in their own module
  modules.py       finding those modules as Airflow's sys.path does, and parsing them (cached)
  builders.py      DAG / TaskGroup / task records with Airflow's id and default_args rules
  dependencies.py  >>, <<, set_*stream, chain helpers, Labels, group roots and leaves
  evaluate.py      literal evaluation of expressions (f-strings, %, .format, containers, loops)
  positions.py     node spans on demand, as libcst's PositionProvider gives them
  imports.py       import bindings and what an imported Airflow name is
  values.py        the interpreter's values and records
  state.py         state and diagnostics shared by the interpreter's parts
"""
