# Runs scenarios/nat-discovery and checks its verdict (ctest -P script, see CMakeLists.txt):
# exit status 0, and a JSON whose summary lists all 7 presets, each with at least
# MIN_PER_PRESET peers, all correct, and whose results (checked one by one for small runs) are
# all correct=true. The scenario's table, with wall time and peak memory, goes to the test log.
#
#   cmake -DSCENARIO=path -DARGS="--sites=3 --loss=0.05" -DJSON=out.json -DMIN_PER_PRESET=3 -P ...
cmake_minimum_required(VERSION 3.22)

separate_arguments(args UNIX_COMMAND "${ARGS}")
file(REMOVE "${JSON}")
execute_process(COMMAND "${SCENARIO}" ${args} "--json=${JSON}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nat-discovery-scenario ${ARGS}: exit status ${rc} (a wrong result?)")
endif()
if(NOT EXISTS "${JSON}")
  message(FATAL_ERROR "nat-discovery-scenario wrote no ${JSON}")
endif()
file(READ "${JSON}" json)

string(JSON peers GET "${json}" summary peers)
string(JSON correct GET "${json}" summary correct)
string(JSON count LENGTH "${json}" results)
if(NOT peers EQUAL count OR NOT correct EQUAL peers)
  message(FATAL_ERROR "${correct}/${peers} correct, ${count} results")
endif()

set(presets open full-cone restricted-cone port-restricted-cone symmetric symmetric-sequential
            cgnat)
foreach(preset IN LISTS presets)
  string(JSON n ERROR_VARIABLE missing GET "${json}" summary per_preset ${preset} peers)
  if(missing)
    message(FATAL_ERROR "preset ${preset} missing from the summary")
  endif()
  string(JSON ok GET "${json}" summary per_preset ${preset} correct)
  if(n LESS MIN_PER_PRESET OR NOT ok EQUAL n)
    message(FATAL_ERROR "preset ${preset}: ${ok}/${n} correct (at least ${MIN_PER_PRESET} peers)")
  endif()
  set(seen_${preset} 0)
endforeach()

# string(JSON) parses the whole document per call: one by one only for small runs.
if(count LESS_EQUAL 200)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON preset GET "${json}" results ${i} preset)
    string(JSON ok GET "${json}" results ${i} correct)
    if(NOT ok)
      string(JSON row GET "${json}" results ${i})
      message(FATAL_ERROR "result ${i} not correct: ${row}")
    endif()
    math(EXPR seen_${preset} "${seen_${preset}} + 1")
  endforeach()
  foreach(preset IN LISTS presets)
    if(seen_${preset} LESS MIN_PER_PRESET)
      message(FATAL_ERROR "preset ${preset}: ${seen_${preset}} results")
    endif()
  endforeach()
endif()
message(STATUS "nat-discovery-scenario ${ARGS}: ${correct}/${peers} correct, all 7 presets")
