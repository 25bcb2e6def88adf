/* Stands in for a source folder that has no files yet, so that CMake can
 * configure a partial tree; never part of a complete build. */
typedef int mn_empty_translation_unit;
