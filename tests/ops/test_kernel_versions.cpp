// tests/ops/test_kernel_versions.cpp — choosing among a kernel's versions (ops/kernel_versions.h):
// the table, SSMLAB_KERNELS' syntax and its errors (one line naming the source, the kernel and the
// versions that exist), the guard that restores the previous choice, and the record of what ran.
// The kernels themselves are checked version by version in tests/cuda/test_cuda_scans.cpp.
#include "core/error.h"
#include "ops/kernel_versions.h"
#include "tests/support/testing.h"

using namespace ssm;

TEST_CASE("kernel versions: the table names every family, its versions and its default") {
  REQUIRE(!ops::kernel_families().empty());
  for (const ops::KernelFamily& f : ops::kernel_families()) {
    CHECK(f.versions >= 2);
    CHECK(f.default_version >= 1);
    CHECK(f.default_version <= f.versions);
    CHECK(static_cast<int>(f.described.size()) == f.versions);
  }
  CHECK(ops::kernel_version("ssd_chunked_forward") == 1);  // version 2 waits for its first GPU run
}

TEST_CASE("kernel versions: set, parsed from SSMLAB_KERNELS' syntax, guarded, and refused when unknown") {
  ops::set_kernel_versions("ssd_chunked_forward=2", "SSMLAB_KERNELS");
  CHECK(ops::kernel_version("ssd_chunked_forward") == 2);
  {
    ops::KernelVersionGuard one("ssd_chunked_forward", 1);
    CHECK(ops::kernel_version("ssd_chunked_forward") == 1);
  }
  CHECK(ops::kernel_version("ssd_chunked_forward") == 2);
  ops::set_kernel_version("ssd_chunked_forward", 1);

  CHECK_THROWS_WITH_AS(ops::set_kernel_versions("ssd_chunked_forward=3", "SSMLAB_KERNELS"),
                       "SSMLAB_KERNELS: kernel 'ssd_chunked_forward' has versions 1 to 2, not 3", UserError);
  CHECK_THROWS_WITH_AS(ops::set_kernel_versions("ssd_chunked=2", "--kernels"),
                       doctest::Contains("--kernels: no kernel 'ssd_chunked' has versions (those that do: ssd_chunked_forward"),
                       UserError);
  CHECK_THROWS_WITH_AS(ops::set_kernel_versions("ssd_chunked_forward", "SSMLAB_KERNELS"),
                       doctest::Contains("SSMLAB_KERNELS: expected kernel=version, got 'ssd_chunked_forward'"), UserError);
  CHECK_THROWS_WITH_AS(ops::set_kernel_versions("ssd_chunked_forward=two", "SSMLAB_KERNELS"),
                       doctest::Contains("expected kernel=version"), UserError);
  CHECK_THROWS_WITH_AS(ops::set_kernel_versions("ssd_chunked_forward=2,bogus=1", "SSMLAB_KERNELS"),
                       doctest::Contains("no kernel 'bogus'"), UserError);
  CHECK_THROWS_AS(ops::kernel_version("no_such_kernel"), UserError);
  CHECK(ops::kernel_version("ssd_chunked_forward") == 1);  // a refused choice changes nothing

  // "all" sets every family, and a later item overrides it.
  ops::set_kernel_versions("all=2, adamw=1", "--kernels");
  for (const ops::KernelFamily& f : ops::kernel_families()) {
    CHECK_MESSAGE(ops::kernel_version(f.name) == (f.name == "adamw" ? 1 : 2), f.name);
  }
  ops::set_kernel_versions("all=1", "--kernels");
  for (const ops::KernelFamily& f : ops::kernel_families()) CHECK(ops::kernel_version(f.name) == 1);
  CHECK_THROWS_WITH_AS(ops::set_kernel_versions("all=3", "SSMLAB_KERNELS"),
                       doctest::Contains("SSMLAB_KERNELS (all=3): kernel '"), UserError);
  CHECK(ops::kernel_version("ssd_chunked_forward") == 1);
}

TEST_CASE("kernel versions: the version that ran is recorded per family") {
  CHECK(ops::last_kernel_version_ran("a_family_nothing_ran") == 0);
  ops::record_kernel_version_ran("ssd_chunked_forward", 2);
  CHECK(ops::last_kernel_version_ran("ssd_chunked_forward") == 2);
  ops::record_kernel_version_ran("ssd_chunked_forward", 1);
  CHECK(ops::last_kernel_version_ran("ssd_chunked_forward") == 1);
}
