// cli/cmd_capacity.cpp — placeholder until eval/ lands.
#include "cli/commands.h"
namespace ssm::cli {
int cmd_capacity(int, char**) { return 1; }
}
