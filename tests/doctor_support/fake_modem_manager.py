"""A stand-in for ModemManager on a private system bus, for tests/cli_doctor.rs: it owns
org.freedesktop.ModemManager1 and lists one modem per port named in argv[1] (JSON list of
tty names), as ModemManager's ObjectManager does, then prints "ready"."""

import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

MODEM = "org.freedesktop.ModemManager1.Modem"
# MMModemPortType: 4 is an AT port.
AT_PORT = 4


class Manager(dbus.service.Object):
    def __init__(self, bus, ports):
        super().__init__(bus, "/org/freedesktop/ModemManager1")
        self.managed = {}
        for number, port in enumerate(ports):
            path = dbus.ObjectPath("/org/freedesktop/ModemManager1/Modem/%d" % number)
            self.managed[path] = {
                MODEM: {
                    "Manufacturer": dbus.String("Nokia"),
                    "Model": dbus.String("6230i"),
                    "Ports": dbus.Array(
                        [dbus.Struct((dbus.String(port), dbus.UInt32(AT_PORT)))],
                        signature="(su)",
                    ),
                }
            }

    @dbus.service.method(
        "org.freedesktop.DBus.ObjectManager", in_signature="", out_signature="a{oa{sa{sv}}}"
    )
    def GetManagedObjects(self):
        return self.managed


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    manager = Manager(bus, json.loads(sys.argv[1]))
    # do_not_queue: fail rather than wait behind another owner.
    name = dbus.service.BusName("org.freedesktop.ModemManager1", bus, do_not_queue=True)
    print("ready", flush=True)
    GLib.MainLoop().run()
    del manager, name


if __name__ == "__main__":
    main()
