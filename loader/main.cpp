#include "cli.hpp"

int main(int argc, char **argv)
{
	return steer::run_cli(argc, argv);
}
