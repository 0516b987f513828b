# Runs scenarios/traversal-matrix and checks its JSON against issue 4's expectations, pair by
# pair, independently of the scenario's own verdict (ctest -P script, see CMakeLists.txt):
#   - exit status 0 and all 35 pairs (28 unordered preset pairs, 7 "same NAT") present, each
#     with TRIALS trials, every trial accounted for (direct + relay + failed), none failed
#     (the relay fallback carries what direct cannot);
#   - both mappings endpoint-independent, or one shared NAT: every trial direct;
#   - other feasible pairs: at least 95% direct;
#   - direct infeasible (both mappings dependent, one random: symmetric with symmetric or
#     symmetric-sequential): every trial relayed, never direct;
#   - without loss: median setup of the endpoint-independent pairs within 3 RTTs;
#   - CONNECTIVITY_ONLY (above 5% loss, as the scenario's kDirectShareMaxLoss): only "no trial
#     without a tunnel" and "infeasible pairs never direct" are checked.
# KNOWN_STACK_BUGS (the scenario's kKnownStackBugs, explained there) may fail, but only when the
# scenario lists them in summary.known_failures.
#
#   cmake -DSCENARIO=path -DARGS="--trials=2 --loss=0.05" -DTRIALS=2 -DLOSS=0.05 \
#         -DJSON=out.json -P check_traversal_matrix_scenario.cmake
cmake_minimum_required(VERSION 3.22)

set(KNOWN_STACK_BUGS "")
set(presets open full-cone restricted-cone port-restricted-cone symmetric symmetric-sequential
            cgnat)
set(dependent symmetric symmetric-sequential)

separate_arguments(args UNIX_COMMAND "${ARGS}")
file(REMOVE "${JSON}")
execute_process(COMMAND "${SCENARIO}" ${args} "--json=${JSON}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "traversal-matrix-scenario ${ARGS}: exit status ${rc}")
endif()
if(NOT EXISTS "${JSON}")
  message(FATAL_ERROR "traversal-matrix-scenario wrote no ${JSON}")
endif()
file(READ "${JSON}" json)

string(JSON count LENGTH "${json}" pairs)
list(LENGTH presets n)
math(EXPR expected_pairs "${n} * (${n} + 1) / 2 + ${n}")
if(NOT count EQUAL expected_pairs)
  message(FATAL_ERROR "${count} pairs in the JSON, ${expected_pairs} expected")
endif()
string(JSON known_count LENGTH "${json}" summary known_failures)
set(known_listed "")
if(known_count GREATER 0)
  math(EXPR last_known "${known_count} - 1")
  foreach(k RANGE ${last_known})
    string(JSON label GET "${json}" summary known_failures ${k} pair)
    list(APPEND known_listed "${label}")
  endforeach()
endif()

set(direct_total 0)
set(known_failed "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON a GET "${json}" pairs ${i} a)
  string(JSON b GET "${json}" pairs ${i} b)
  string(JSON same GET "${json}" pairs ${i} same_nat)
  string(JSON trials GET "${json}" pairs ${i} trials)
  string(JSON direct GET "${json}" pairs ${i} direct)
  string(JSON relay GET "${json}" pairs ${i} relay)
  string(JSON failed GET "${json}" pairs ${i} failed)
  string(JSON rtt50 GET "${json}" pairs ${i} setup_rtt_p50)
  if(same)
    set(label "${a} (same NAT)")
  else()
    set(label "${a} x ${b}")
  endif()
  if(NOT trials EQUAL TRIALS)
    message(FATAL_ERROR "${label}: ${trials} trials, ${TRIALS} expected")
  endif()
  math(EXPR accounted "${direct} + ${relay} + ${failed}")
  if(NOT accounted EQUAL trials)
    message(FATAL_ERROR "${label}: ${accounted} of ${trials} trials accounted for")
  endif()
  math(EXPR direct_total "${direct_total} + ${direct}")

  list(FIND dependent "${a}" a_dep)
  list(FIND dependent "${b}" b_dep)
  set(problem "")
  if(failed GREATER 0)
    set(problem "${failed} of ${trials} trials without a tunnel")
  elseif(CONNECTIVITY_ONLY)
    if(NOT same AND NOT a_dep EQUAL -1 AND NOT b_dep EQUAL -1
       AND (a STREQUAL "symmetric" OR b STREQUAL "symmetric") AND direct GREATER 0)
      set(problem "infeasible: ${direct} direct of ${trials}")
    endif()
  elseif(same OR (a_dep EQUAL -1 AND b_dep EQUAL -1))
    if(NOT direct EQUAL trials)
      set(problem "direct ${direct}/${trials}, 100% expected (endpoint-independent)")
    elseif(LOSS EQUAL 0 AND rtt50 GREATER 3)
      set(problem "median setup ${rtt50} RTTs, at most 3 expected")
    endif()
  elseif(NOT a_dep EQUAL -1 AND NOT b_dep EQUAL -1
         AND (a STREQUAL "symmetric" OR b STREQUAL "symmetric"))
    if(NOT relay EQUAL trials OR direct GREATER 0)
      set(problem "infeasible: ${relay} relayed, ${direct} direct of ${trials}")
    endif()
  else()
    math(EXPR lhs "${direct} * 100")
    math(EXPR rhs "95 * ${trials}")
    if(lhs LESS rhs)
      set(problem "direct ${direct}/${trials}, at least 95% expected")
    endif()
  endif()
  if(problem)
    list(FIND KNOWN_STACK_BUGS "${label}" known)
    list(FIND known_listed "${label}" listed)
    if(known EQUAL -1 OR listed EQUAL -1)
      message(FATAL_ERROR "${label}: ${problem}")
    endif()
    list(APPEND known_failed "${label}")
    message(WARNING "${label}: ${problem} (known stack bug, see kKnownStackBugs)")
  endif()
endforeach()
if(direct_total EQUAL 0)
  message(FATAL_ERROR "no direct tunnel at all")
endif()
message(STATUS "traversal-matrix-scenario ${ARGS}: ${count} pairs as expected; "
               "known stack bugs: ${known_failed}")
