/* test_wishbench_pace.c -- clients/wishbench/wb_pace.h: the open loop
 * sends each request when it falls due, not an interval later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clients/wishbench/wb_pace.h"

/* At rates from a trickle to the bench's peaks, request k is due (counted
 * by wb_pace_due_count) from a microsecond after its due time on, and not
 * a microsecond before it: its measured latency starts when it is sent.
 * Before the fix request k was counted due only once request k + 1's time
 * had come. */
static void test_due_when_its_time_comes(void **state)
{
    (void)state;
    const double rates[] = {1, 20, 100, 925.5, 3000, 20000};
    const uint64_t t0 = UINT64_C(1000000000);
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        for (uint64_t k = 0; k < 2000; k++) {
            uint64_t at = wb_pace_due_at(t0, k, rates[i]) - t0;
            assert_true(wb_pace_due_count(at + 1, rates[i]) >= k + 1);
            if (at >= 2) assert_true(wb_pace_due_count(at - 2, rates[i]) <= k);
        }
    }
    assert_int_equal(wb_pace_due_count(0, 20), 1); /* the first at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_when_its_time_comes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
