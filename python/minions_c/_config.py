# Where `cmake --install` put libminions.so; None when not installed by CMake.
LIBDIR = None
