#!/usr/bin/python3
"""A real RTSP server for tests: GStreamer's gst-rtsp-server (Debian: gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-plugins-good, python3-gi) serving an MJPEG AVI as RTP/JPEG without re-encoding.

    rtsp_server.py PORT FILE.avi [MOUNT]

Prints "ready" once it listens on 127.0.0.1:PORT. Every client gets the file from its start.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port, path = sys.argv[1], sys.argv[2]
mount = sys.argv[3] if len(sys.argv) > 3 else "/cam"
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(f"( filesrc location={path} ! avidemux ! rtpjpegpay name=pay0 pt=26 )")
server.get_mount_points().add_factory(mount, factory)
if server.attach(None) == 0:
    sys.exit(f"rtsp_server: cannot listen on 127.0.0.1:{port}")
print("ready", flush=True)
GLib.MainLoop().run()
