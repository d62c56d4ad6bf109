#!/bin/sh
# Every doctest case must be reachable from ctest. doctest_discover_tests
# turns the list of names into a CMake list, so a ';' in a name splits it:
# ctest then runs a filter that matches no case and reports a pass.
# Usage: check_test_names.sh TESTS_DIR
bad=$(grep -rnE '(TEST_CASE|SUBCASE)\("[^"]*;' "$1" --include='*.cpp')
if [ -n "$bad" ]; then
  echo "test names with ';' (ctest would never run them):"
  echo "$bad"
  exit 1
fi
echo PASS
