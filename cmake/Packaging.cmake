# A Debian package of what `cmake --install` installs (the app, the command line, the resources, the desktop entry
# and icon): `cpack -G DEB` in the build folder writes diffuscope_VERSION_ARCH.deb. Its dependencies are the
# bookworm packages of the shared libraries the executables link (dpkg-shlibdeps) plus what Qt loads at run time.
# For a package meant for other machines configure with -DDIFFUSCOPE_NATIVE_ARCH=OFF (no -march=native).
set(CPACK_PACKAGE_NAME diffuscope)
set(CPACK_PACKAGE_VENDOR "Diffuscope")
set(CPACK_PACKAGE_CONTACT "Diffuscope developers <noreply@diffuscope.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "Diffuscope runs small diffusion models step by step on images and 2D point clouds and shows every x_t:\n"
    "forward and reverse trajectories, the schedules of the papers, exact denoisers and learned models.\n"
    "diffuscope is the desktop application, diffuscope-cli the headless command line for every job that\n"
    "makes a file (exports, figures, training).")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)  # the executables find their resources at ../share/diffuscope
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(DIFFUSCOPE_BUILD_GUI)
  # Loaded by Qt at run time, so dpkg-shlibdeps cannot see them: the platform plugins (xcb, wayland, offscreen)
  # and a font for the widgets.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins, fonts-dejavu-core")
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qt6-wayland")
endif()
set(CPACK_GENERATOR DEB)
include(CPack)
