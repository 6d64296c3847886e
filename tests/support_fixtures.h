/* support_fixtures.h — where the tests' fixture files are: tests/fixtures/
 * under the repository root, found from the working folder (make test runs
 * from the root) or else from the test binary's path
 * (build/<config>/tests/<binary>). */
#ifndef HG_SUPPORT_FIXTURES_H
#define HG_SUPPORT_FIXTURES_H

/* "<root>/tests/fixtures/<name>" (one of 4 rotating buffers); aborts with a
 * message naming both places tried when it is in neither. */
const char *fixture_path(const char *name);

#endif
