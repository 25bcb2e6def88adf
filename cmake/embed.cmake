# Turn a file into a C array so the library carries its default data (the
# price table) and works from the build tree, an install, or a static link
# without looking for files. Usage: cmake -DIN=... -DOUT=... -DNAME=... -P embed.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n"
  "static const unsigned char ${NAME}[] = {${body}0x00};\n")
