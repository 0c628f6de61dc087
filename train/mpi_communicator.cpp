// train/mpi_communicator.cpp — the host communicator over MPI (built when CMake finds MPI, which
// defines SSMLAB_WITH_MPI). MPI is initialised only for runs of more than one process, so a
// plain `ssmlab train` never needs mpirun.
//
// Collectives run on MPI_COMM_WORLD. Device tensors are staged through host memory, which works
// with any MPI (CUDA-aware or not); GPU runs plug NCCL in instead (communicator.h).
#if defined(SSMLAB_WITH_MPI)
#include <mpi.h>

#include <exception>

#include "core/error.h"          // defines: UserError, Error
#include "train/communicator.h"

namespace ssm {

namespace {

void check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw Error(absl::StrCat("MPI call ", call, " failed: ", std::string(text, static_cast<size_t>(length))));
}

#define SSM_MPI_CHECK(call) check_mpi((call), #call)

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(const LaunchInfo& launch) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      SSM_MPI_CHECK(MPI_Init(nullptr, nullptr));
      owns_mpi_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    SSM_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    SSM_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world_));
    SSM_USER_CHECK(rank_ == launch.rank && world_ == launch.world, "MPI says this is process ", rank_, " of ", world_,
                   " but the ", launch.launcher, " environment says ", launch.rank, " of ", launch.world,
                   " (is this ssmlab built against the MPI of the launcher?)");
  }
  ~MpiCommunicator() override {
    // After an error on this process only, a collective finalize would wait for the others
    // forever; the caller aborts instead (abort()), so finalize only on the normal path.
    if (owns_mpi_ && std::uncaught_exceptions() == 0) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce_sum(std::vector<double>& values) override {
    SSM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                                MPI_COMM_WORLD));
  }

  void all_reduce_sum(Tensor& tensor) override {
    SSM_CHECK(tensor.dtype() == Dtype::f32 && tensor.is_contiguous(), "MPI all-reduce needs a contiguous f32 tensor, ",
              "got ", tensor.str());
    Tensor host = tensor.device().is_cpu() ? tensor : tensor.to(Device::cpu());
    float* data = host.data<float>();
    // MPI counts are ints: large buckets go in pieces.
    constexpr int64_t kMaxCount = int64_t{1} << 30;
    for (int64_t at = 0; at < host.numel(); at += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, host.numel() - at));
      SSM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
    }
    if (!tensor.device().is_cpu()) tensor.copy_from(host);
  }

  void broadcast(void* data, size_t bytes, int root) override {
    SSM_MPI_CHECK(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD));
  }

  void barrier() override { SSM_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

 private:
  int rank_ = 0, world_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace

bool mpi_available() { return true; }

std::unique_ptr<Communicator> make_host_communicator(const LaunchInfo& launch) {
  if (launch.world == 1) return make_single_process_communicator();
  return std::make_unique<MpiCommunicator>(launch);
}

}  // namespace ssm
#endif  // SSMLAB_WITH_MPI
