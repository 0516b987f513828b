# Runs scenarios/traversal-matrix with hostile gateways (every site's outer NAT answers
# unsolicited UDP with ICMP, with Linux's conntrack side effect) on pairs that fell back to the
# relay in every trial before opening checks (stack/tunnel/hole_punch.h), and checks that every
# trial of every pair is now direct (issue 7: "direct if possible"). With the core delay at 0 ms
# one side's first checks always reach the other's gateway before that side has sent.
#
#   cmake -DSCENARIO=path -DPAIRS=a:b,c:d -DTRIALS=2 -DJSON=out.json \
#         -P check_traversal_matrix_hostile.cmake
cmake_minimum_required(VERSION 3.22)

file(REMOVE "${JSON}")
execute_process(COMMAND "${SCENARIO}" --hostile --delay=0ms "--trials=${TRIALS}"
                        "--pairs=${PAIRS}" "--json=${JSON}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "traversal-matrix-scenario --hostile: exit status ${rc}")
endif()
file(READ "${JSON}" json)
string(REPLACE "," ";" wanted "${PAIRS}")
list(LENGTH wanted n_wanted)
string(JSON count LENGTH "${json}" pairs)
if(NOT count EQUAL n_wanted)
  message(FATAL_ERROR "${count} pairs in the JSON, ${n_wanted} expected (${PAIRS})")
endif()
math(EXPR last "${count} - 1")
set(problems "")
foreach(i RANGE ${last})
  string(JSON a GET "${json}" pairs ${i} a)
  string(JSON b GET "${json}" pairs ${i} b)
  string(JSON trials GET "${json}" pairs ${i} trials)
  string(JSON direct GET "${json}" pairs ${i} direct)
  if(NOT trials EQUAL TRIALS OR NOT direct EQUAL trials)
    list(APPEND problems "${a} x ${b}: ${direct} of ${trials} trials direct")
  endif()
endforeach()
if(problems)
  string(REPLACE ";" "\n  " text "${problems}")
  message(FATAL_ERROR "hostile gateways, feasible pairs not direct:\n  ${text}")
endif()
message(STATUS "hostile gateways: ${count} pairs, every trial direct")
