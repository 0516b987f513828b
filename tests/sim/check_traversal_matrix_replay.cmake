# Runs scenarios/traversal-matrix twice with the same arguments (and so the same --RngRun) and
# checks that both runs wrote the same "pairs" (ctest -P script, see CMakeLists.txt): a seed and
# run replay the matrix exactly. Wall time and memory in "summary" may differ.
#
#   cmake -DSCENARIO=path -DARGS="--trials=2 --loss=0.05 --pairs=symmetric" -DJSON=out -P ...
cmake_minimum_required(VERSION 3.22)

separate_arguments(args UNIX_COMMAND "${ARGS}")
foreach(run 1 2)
  file(REMOVE "${JSON}-${run}.json")
  execute_process(COMMAND "${SCENARIO}" ${args} "--json=${JSON}-${run}.json" RESULT_VARIABLE rc
                  OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "traversal-matrix-scenario ${ARGS} (run ${run}): exit status ${rc}")
  endif()
  file(READ "${JSON}-${run}.json" json)
  string(JSON pairs_${run} GET "${json}" pairs)
  string(JSON count LENGTH "${json}" pairs)
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "no pairs in the JSON")
endif()
if(NOT pairs_1 STREQUAL pairs_2)
  message(FATAL_ERROR "two runs with the same arguments differ:\n${pairs_1}\n---\n${pairs_2}")
endif()
message(STATUS "traversal-matrix-scenario ${ARGS}: ${count} pairs, the same twice")
